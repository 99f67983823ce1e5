# expect: singleton-class-cache
"""Sessions are made per request, on the server's threads, and the first one starts the
class-wide clean-up thread (CherryPy's sessions): two first requests each start one, and
the thread that loses the assignment runs on with nothing able to stop it."""

import threading


class Session:
    clean_thread = None

    def __init__(self, clean_up):
        self.clean_up = clean_up

    def load(self):
        cls = self.__class__
        if not cls.clean_thread:
            t = threading.Timer(60, self.clean_up)
            t.start()
            cls.clean_thread = t
