# expect: file-in-place-write
"""Plain text written in place through a handle kept in a variable."""


def save_token(path, token):
    f = open(path, "w")
    f.write(token)
    f.close()
