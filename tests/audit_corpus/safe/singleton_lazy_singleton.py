"""The project's LazySingleton: no check-then-act in user code."""

from cortex.utils.thread_utils import LazySingleton


class History:
    pass


_history = LazySingleton(History)


def get_history():
    return _history.get()
