# expect: shared-rmw
# expect: shared-rmw
"""A connection count kept by the main loop and by a future's done callback: the
callback runs on whichever pool thread finished the request, so the unlocked updates of
the main thread and of several pool threads are lost against each other."""

from concurrent import futures


class Worker:
    def __init__(self, threads):
        self.pool = futures.ThreadPoolExecutor(threads)
        self.nr_conns = 0

    def accept(self, conn):
        self.nr_conns += 1
        fs = self.pool.submit(self.handle, conn)
        fs.add_done_callback(self.finish_request)

    def handle(self, conn):
        return conn.serve()

    def finish_request(self, fs):
        self.nr_conns -= 1
