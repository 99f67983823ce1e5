"""A command-line tool that captures a function's output by swapping sys.stdout, in a
module that starts no threads: info, nothing shows two threads doing it."""

import io
import sys


def captured(function):
    old = sys.stdout
    sys.stdout = buffer = io.StringIO()
    try:
        function()
    finally:
        sys.stdout = old
    return buffer.getvalue()
