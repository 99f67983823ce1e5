"""Lazy attributes in a module that never uses threads."""


class Report:
    def __init__(self, rows):
        self.rows = rows
        self._total = None
        self.count = 0

    def total(self):
        if self._total is None:
            self._total = sum(self.rows)
        self.count += 1
        return self._total
