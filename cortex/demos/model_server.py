"""A loopback OpenAI-compatible model server, for benchmarks and end-to-end tests.

:class:`LoopbackModelServer` listens on ``127.0.0.1`` (a free port), answers
``POST /v1/chat/completions`` after a fixed latency, and counts the requests in flight, so
a benchmark can report the real HTTP path's concurrency and a test can drive
``cortex install`` the way a user with a local server (``OPENAI_BASE_URL``) would. Its
answers are the offline provider's commands (:class:`cortex.llm_router.OfflineProvider`),
dressed the way chat models write them: ``"plain"`` lines, a ``"fenced"`` block after a
sentence, or upstream's ``"json"`` object. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from cortex.dependency_resolver import PackageIndex
from cortex.llm_router import OfflineProvider

__all__ = ["AnswerStyle", "LoopbackModelServer", "dress_answer", "running_server"]

AnswerStyle = Literal["plain", "fenced", "json"]
_FENCE = "`" * 3


def dress_answer(commands: Sequence[str], notes: Sequence[str], style: AnswerStyle) -> str:
    """Write ``commands`` (and ``notes``) the way a chat model would in ``style``."""
    if style == "json":
        return json.dumps({"commands": list(commands), "notes": list(notes)})
    if style == "fenced":
        prose = "Here are the commands to install it:" if commands else "I cannot help here."
        body = "\n".join(commands)
        tail = "".join(f"\nNote: {note}" for note in notes)
        return f"{prose}\n\n{_FENCE}bash\n{body}\n{_FENCE}\n{tail}".rstrip()
    return "\n".join([*(f"# {note}" for note in notes), *commands])


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(length))
            messages = body["messages"]
        except (ValueError, KeyError, TypeError):
            self._reply(400, {"error": "bad request"})
            return
        with owner.tracking():
            time.sleep(owner.latency)
            content = owner.answer(messages)
        prompt = sum(len(str(m.get("content", ""))) for m in messages) // 4 + 1
        completion = len(content) // 4 + 1
        self._reply(
            200,
            {
                "model": body.get("model", "loopback"),
                "choices": [{"message": {"role": "assistant", "content": content}}],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            },
        )

    def _reply(self, status: int, payload: Mapping[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a burst of connections must not overflow the listen backlog

    def __init__(self, owner: LoopbackModelServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)


class LoopbackModelServer:
    """An OpenAI-compatible server on 127.0.0.1 with a fixed latency per answer.

    Args:
        index: the package index the answers are computed from.
        latency: seconds each answer takes.
        style: how answers are written (see :func:`dress_answer`).

    Use :func:`running_server`, or :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self, index: PackageIndex, latency: float = 0.5, style: AnswerStyle = "fenced"
    ) -> None:
        self.latency = latency
        self.style: AnswerStyle = style
        self._model = OfflineProvider(index, latency=0.0)
        # Guards the three counters below.
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.requests = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, the value for ``OPENAI_BASE_URL``."""
        if self._server is None:
            raise RuntimeError("the server is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @contextmanager
    def tracking(self) -> Iterator[None]:
        """Count one request in flight for the duration of the block."""
        with self._lock:
            self.in_flight += 1
            self.requests += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    def reset_counts(self) -> None:
        """Zero the request count and the peak (between benchmark runs)."""
        with self._lock:
            self.requests = 0
            self.peak_in_flight = self.in_flight

    def answer(self, messages: Sequence[Mapping[str, str]]) -> str:
        """The dressed answer to ``messages`` (the offline provider's commands)."""
        lines = self._model.answer(messages).splitlines()
        notes = [line.lstrip("# ") for line in lines if line.startswith("#")]
        commands = [
            line.replace("apt-get", "sudo apt", 1) for line in lines if not line.startswith("#")
        ]
        return dress_answer(commands, notes, self.style)

    def start(self) -> LoopbackModelServer:
        """Listen on a free port and serve on a daemon thread."""
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="cortex-model-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
        self._server = self._thread = None


@contextmanager
def running_server(
    index: PackageIndex, latency: float = 0.5, style: AnswerStyle = "fenced"
) -> Iterator[LoopbackModelServer]:
    """A started :class:`LoopbackModelServer`, stopped at the end of the block."""
    server = LoopbackModelServer(index, latency, style).start()
    try:
        yield server
    finally:
        server.stop()
