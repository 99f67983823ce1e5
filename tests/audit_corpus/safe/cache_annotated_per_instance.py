"""A per-instance memo: the class body only annotates the dict, __init__ creates it. Not a
class-level cache shared by every instance."""


class Proxy:
    _children: dict[str, "Proxy"]

    def __init__(self, path):
        self.path = path
        self._children = {}

    def child(self, name):
        if name not in self._children:
            self._children[name] = Proxy(f"{self.path}.{name}")
        return self._children[name]
