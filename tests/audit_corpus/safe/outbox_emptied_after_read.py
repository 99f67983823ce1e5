"""A log that is appended to and emptied when it is read out: the handle is truncated to
nothing after it is read, and nothing is written back over the old content."""


class Outbox:
    def __init__(self, path):
        self.handle = open(path, "a+", encoding="utf-8")

    def append(self, line):
        self.handle.write(line + "\n")
        self.handle.flush()

    def drain(self):
        self.handle.seek(0)
        lines = self.handle.read().splitlines()
        self.handle.seek(0)
        self.handle.truncate()
        return lines
