"""A test server's working directory made by mkdtemp() and kept on the instance: the
files written there (before the server starts) are known to no other program."""

import os
import tempfile


class ManagedServer:
    def __init__(self, port):
        self.port = port
        self.working_path = tempfile.mkdtemp()

    def run(self):
        config_path = os.path.join(self.working_path, "server.cfg")
        with open(config_path, "w") as config:
            config.write(f"port={self.port}\n")

    def reset(self):
        with open(os.path.join(self.working_path, "myid"), "w") as handle:
            handle.write("1")
