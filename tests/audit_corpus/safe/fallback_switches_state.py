"""Recursion after a failure that first switches the object to another decoder: the
second call takes the other branch, so it cannot bounce."""

import zlib


class Decoder:
    def __init__(self):
        self._first_try = True
        self._obj = zlib.decompressobj()

    def decompress(self, data):
        if not self._first_try:
            return self._obj.decompress(data)
        try:
            return self._obj.decompress(data)
        except zlib.error:
            self._first_try = False
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.decompress(data)
