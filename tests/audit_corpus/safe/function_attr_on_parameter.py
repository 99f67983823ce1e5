"""A parameter named like a function of the module: hasattr() tests the request object
passed in, not the function, so nothing is created on a shared function."""

import threading

_lock = threading.Lock()


def request(url):
    return url


def add_message(request, message):
    if not hasattr(request, "_messages"):
        request._messages = []
    request._messages.append(message)
