# expect: shared-rmw
"""Tasks run on worker threads, each capturing its output by swapping sys.stdout for a
buffer and restoring the value it saved (doit's Python actions): two tasks interleaving
restore each other's stream, and sys.stdout is left pointing at a finished buffer."""

import io
import sys
from concurrent.futures import ThreadPoolExecutor


def run_captured(task):
    old_stdout = sys.stdout
    sys.stdout = buffer = io.StringIO()
    try:
        task()
    finally:
        sys.stdout = old_stdout
    return buffer.getvalue()


def run_all(tasks):
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(run_captured, tasks))
