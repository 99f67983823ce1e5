"""One background thread counts into a local of the function that starts it, and the
function reads the count only after join(): one writer, no race. A nested function's own
local of the same name is not the shared one."""

import threading


def scan(paths, check):
    found = {"bad": 0}

    def worker():
        for path in paths:
            if not check(path):
                found["bad"] += 1

    def summary(items):
        found = {"bad": 0}
        for item in items:
            found["bad"] += item
        return found

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    return found["bad"], summary
