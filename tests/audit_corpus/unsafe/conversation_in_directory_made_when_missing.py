# expect: file-in-place-write
"""A conversation saved after every exchange into a directory made only when it is
missing: the directory usually exists, and the file is rewritten in place each time."""

import json
import os

HISTORY = os.path.expanduser("~/.local/share/agent/conversations")


class Conversation:
    def __init__(self, name):
        self.name = name
        self.messages = []

    def save(self):
        if not os.path.exists(HISTORY):
            os.makedirs(HISTORY)
        with open(os.path.join(HISTORY, self.name + ".json"), "w") as handle:
            json.dump(self.messages, handle)
