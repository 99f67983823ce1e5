"""A global checked by the caller and set by an init function that publishes it before the
rest of the state: a second caller finds it set and goes on without the proxy."""

# expect: singleton-global

import os

HEADERS = None
PROXY = None


def init_network():
    global HEADERS, PROXY
    HEADERS = {"User-Agent": "cortex"}
    PROXY = os.environ.get("https_proxy")


def fetch(url, opener):
    if not HEADERS:
        init_network()
    return opener(url, headers=HEADERS, proxy=PROXY)
