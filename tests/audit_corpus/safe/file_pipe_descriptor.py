"""Writing to the end of a pipe: a stream to a child, not a file anyone reads back."""

import os


def send(payload):
    read_end, write_end = os.pipe()
    with open(write_end, "wb") as to_child:
        to_child.write(payload)
    return read_end
