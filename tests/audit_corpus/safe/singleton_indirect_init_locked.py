"""The same init function, run under a lock that also covers the check."""

import os
import threading

HEADERS = None
PROXY = None
_network_lock = threading.Lock()


def init_network():
    global HEADERS, PROXY
    with _network_lock:
        if HEADERS:
            return
        proxy = os.environ.get("https_proxy")
        PROXY = proxy
        HEADERS = {"User-Agent": "cortex"}


def fetch(url, opener):
    if not HEADERS:
        init_network()
    return opener(url, headers=HEADERS, proxy=PROXY)
