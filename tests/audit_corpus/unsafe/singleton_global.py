# expect: singleton-global
"""A module-level detector created on first use, upstream style."""


class Detector:
    def __init__(self):
        self.ready = True


_detector = None


def get_detector():
    global _detector
    if _detector is None:
        _detector = Detector()
    return _detector
