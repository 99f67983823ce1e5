"""A database file encrypted into a new file, streamed from the original, which is kept
(the caller removes it only after checking the copy)."""

import hashlib


class Encryptor:
    def __init__(self, dbfile, encfile, cipher):
        self.dbfile = dbfile
        self.encfile = encfile
        self.cipher = cipher

    def encrypt(self):
        digest = hashlib.sha256()
        with open(self.dbfile, "rb") as source, open(self.encfile, "wb") as target:
            while chunk := source.read(65536):
                digest.update(chunk)
                target.write(self.cipher.update(chunk))
            target.write(self.cipher.finalize())
        return digest.hexdigest()
