"""A walk down an exception's chain of contexts: structural recursion, not a retry."""


def innermost(exc):
    context = exc.__context__
    if isinstance(context, Exception):
        return innermost(context)
    return exc
