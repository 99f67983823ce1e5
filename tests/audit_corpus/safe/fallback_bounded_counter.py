"""Following a redirect: each call passes the count plus one and checks it against the
limit first, so the recursion ends after max_redirects steps."""


class Client:
    max_redirects = 5

    def get(self, path, redirect_count=0):
        response = self._send(path)
        if response.status in (301, 302):
            if redirect_count >= self.max_redirects:
                raise RuntimeError(f"redirected {redirect_count} times")
            return self.get(response.location, redirect_count=redirect_count + 1)
        return response

    def _send(self, path):
        raise NotImplementedError
