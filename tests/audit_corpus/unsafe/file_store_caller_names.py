# expect: file-in-place-write
"""A known-hosts store: the caller names the file, but the class loads that file as well
as saving it. It is a store other programs share, not an export: save() truncates it in
place, so a crash or another client reading meanwhile sees it cut short."""


class HostKeys:
    def __init__(self):
        self._entries = []

    def load(self, filename):
        with open(filename) as f:
            self._entries.extend(line.strip() for line in f if line.strip())

    def save(self, filename):
        with open(filename, "w") as f:
            for entry in self._entries:
                f.write(entry + "\n")
