"""A real HTTP server on this machine that plays a team's endpoint: nothing is mocked."""

import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def delivery(self) -> tuple[str, int]:
        return self.headers["Ringround-Delivery"], int(self.headers["Ringround-Attempt"])


@dataclass
class Receiver:
    """The endpoint: answers each request with the next status of ``answers`` (then 200)."""

    url: str = ""
    answers: list = field(default_factory=list)
    received: list = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers, body) -> int:
        with self.lock:
            self.received.append(Received(headers, body))
            return self.answers.pop(0) if self.answers else 200


@contextmanager
def serving():
    """A receiver listening on 127.0.0.1 while the block runs."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = state.answer(dict(self.headers.items()), body)
            if state.delay:
                threading.Event().wait(state.delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender stopped waiting (a timeout test)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/ringround"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
