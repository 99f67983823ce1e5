# expect: fallback-recursion
"""After a failure the hooks run again from a fresh list: the same failing hook fails
again, and the recursion never ends."""

import logging

REGISTRY = []


def run_hooks(hooks):
    for hook in hooks:
        try:
            hook()
        except Exception:
            logging.exception("hook failed")
            run_hooks(list(REGISTRY))
