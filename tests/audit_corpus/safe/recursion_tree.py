"""Recursion over a structure, with error handling that does not recurse on failure."""


def flatten(node):
    try:
        children = node["children"]
    except KeyError:
        return [node["name"]]
    out = []
    for child in children:
        out.extend(flatten(child))
    return out
