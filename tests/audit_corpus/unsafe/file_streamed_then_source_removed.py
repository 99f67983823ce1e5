"""The same conversion, but the original is removed as soon as the copy is written: a
torn copy is all that is left."""

# expect: file-in-place-write

import os


class Encryptor:
    def __init__(self, dbfile, encfile, cipher):
        self.dbfile = dbfile
        self.encfile = encfile
        self.cipher = cipher

    def encrypt(self):
        with open(self.dbfile, "rb") as source, open(self.encfile, "wb") as target:
            while chunk := source.read(65536):
                target.write(self.cipher.update(chunk))
            target.write(self.cipher.finalize())
        os.remove(self.dbfile)
