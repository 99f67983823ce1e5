# expect: singleton-global
"""A lazily made node id: two first callers each draw a uuid, and the second replaces the
id the first caller has already used to name its reply queue."""

import threading
from uuid import uuid4

_node_id = None
_lock = threading.Lock()


def get_node_id():
    global _node_id
    if _node_id is None:
        _node_id = uuid4().int
    return _node_id
