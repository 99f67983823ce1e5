"""Hooks run in order; after a failure the rest of the same iterator, filtered to the
fail-safe hooks, runs before the error goes on: every call consumes it, so it ends."""

import logging


def run_hooks(hooks):
    safe = filter(lambda hook: hook.failsafe, hooks)
    for hook in hooks:
        try:
            hook()
        except Exception:
            logging.exception("hook failed")
            run_hooks(safe)
            raise
