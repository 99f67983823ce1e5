# expect: file-in-place-write
"""Notification history appended by rewriting the whole file."""

import json
import os


class NotificationManager:
    def __init__(self, directory):
        self.history_file = os.path.join(directory, "notification_history.json")

    def _save_history(self, history):
        with open(self.history_file, "w", encoding="utf-8") as fh:
            json.dump(history[-100:], fh, indent=2)
