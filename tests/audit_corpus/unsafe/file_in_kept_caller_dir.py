# expect: file-in-place-write
"""The working directory is kept on the instance but the caller may name it (a shared
data directory other processes read): the kept attribute is not always a fresh temporary
directory, so the config is written in place where a reader can see it half written."""

import os
import tempfile


class ManagedServer:
    def __init__(self, port, working_path=None):
        self.port = port
        self.working_path = tempfile.mkdtemp()
        if working_path is not None:
            self.working_path = working_path

    def run(self):
        config_path = os.path.join(self.working_path, "server.cfg")
        with open(config_path, "w") as config:
            config.write(f"port={self.port}\n")
