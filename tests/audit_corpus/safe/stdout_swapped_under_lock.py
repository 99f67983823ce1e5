"""Workers that capture output with redirect_stdout, each under the one lock every
swapper takes: the swaps cannot interleave."""

import contextlib
import io
import threading
from concurrent.futures import ThreadPoolExecutor

_stdout_lock = threading.Lock()


def captured(function):
    with _stdout_lock:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            function()
    return buffer.getvalue()


def run_all(functions):
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(captured, functions))
