"""A TLS socket wrapper that retries a read after waiting for the socket to become
readable: it calls itself with its own arguments, so there is no alternative to alternate
with, and the wait's timeout ends it. Shape of a false positive found on a real HTTP
library."""


class WantRead(Exception):
    pass


def wait_readable(sock, timeout):
    return sock.poll(timeout)


class WrappedSocket:
    def __init__(self, connection, sock):
        self.connection = connection
        self.sock = sock

    def recv(self, *args, **kwargs):
        try:
            return self.connection.recv(*args, **kwargs)
        except WantRead as error:
            if not wait_readable(self.sock, self.sock.gettimeout()):
                raise TimeoutError("the read timed out") from error
            return self.recv(*args, **kwargs)
