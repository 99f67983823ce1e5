"""A search that falls back to the next engine when one blocks it: the handler writes the
next engine into the request it passes on, so each call tries a different one, and it
stops when none is left."""

ENGINES = ("one", "two", "three")
BLOCKED = []


class Blocked(Exception):
    pass


def search(request):
    try:
        return _ask(request["engine"], request["query"])
    except Blocked:
        BLOCKED.append(request["engine"])
        remaining = [e for e in ENGINES if e not in BLOCKED]
        if not remaining:
            return None
        else:
            request["engine"] = remaining[0]
            return search(request)


def _ask(engine, query):
    raise Blocked(engine)
