"""Deleting one item's own files from a folder listing, then the folder if nothing is left:
the length test asks whether the folder is empty, not whether it is over a limit, so this
is a deletion on request, not a routine prune that other processes repeat."""

import os


class Episode:
    def __init__(self, episode_id, folder):
        self.episode_id = episode_id
        self.folder = folder

    def delete(self):
        for name in os.listdir(self.folder):
            if name.startswith(f"{self.episode_id}-"):
                os.remove(os.path.join(self.folder, name))
        if len(os.listdir(self.folder)) == 0:
            os.rmdir(self.folder)
