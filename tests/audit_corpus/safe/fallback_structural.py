"""Recursion after a failure that goes somewhere else each time: into a child, into the
default (used up on the way), or after fixing what made it fail."""

import os
import sys


class Registry:
    def create_task(self, message):
        task = object()
        if message.on_error:
            task.on_error = self.create_task(message.on_error)
        return task


class Theme:
    def __init__(self):
        self.styles = {}

    def get_style(self, name, default=None):
        try:
            return self.styles[name]
        except KeyError:
            if default is not None:
                return self.get_style(default)
            raise


def load(path):
    try:
        return __import__(path)
    except ImportError:
        here = os.getcwd()
        if here not in sys.path:
            sys.path.insert(0, here)
            return load(path)
        raise
