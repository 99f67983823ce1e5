# expect: file-in-place-write
"""The caller names a queue, but the file is written into the folder this transport keeps
and its consumers scan: a consumer can pick the message up half written."""

import json
import os


class FolderTransport:
    def __init__(self, folder):
        self.folder = folder

    def put(self, queue, payload):
        filename = os.path.join(self.folder, f"{queue}.msg")
        with open(filename, "w") as handle:
            handle.write(json.dumps(payload))
