"""The next rollover time is kept in the lock file itself and rewritten through its handle
only while the lock is held: whoever reads it holds the lock too."""

import os


class RolloverState:
    def __init__(self, handler):
        self.handler = handler
        self.rollover_at = 0

    def write_rollover_time(self):
        lock_file = self.handler.stream_lock
        if not lock_file or not self.handler.is_locked:
            return
        lock_file.seek(0)
        lock_file.write(str(self.rollover_at))
        lock_file.truncate()
        lock_file.flush()
        os.fsync(lock_file.fileno())
