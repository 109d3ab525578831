"""Fixtures for the fake provider: the fake itself, and a tiny scriptable app that answers its
callbacks, either over real HTTP (``receiver``) or in-process through ``deliver`` (``app``)."""

import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ringround.telephony.fake import FakeProvider

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token-1234"


class ScriptedApp:
    """Plays the app: answers each path with fixed TwiML or with ``fn(params) -> TwiML``, and keeps
    every request it received (path, params, signature, the URL as the fake posted it)."""

    def __init__(self, base_url: str = "http://app.test"):
        self.base_url = base_url
        self.routes: dict[str, object] = {}
        self.received: list[dict] = []
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return self.base_url + path

    def answer(self, path: str, reply) -> str:
        """Answer ``path`` with ``reply`` (TwiML text, a (status, text[, headers]) tuple, or a
        function of the params returning either); returns the path's URL."""
        self.routes[path] = reply
        return self.url(path)

    def posts_to(self, path: str) -> list[dict]:
        return [r["params"] for r in self.received if r["path"] == path]

    def respond(self, url: str, params: dict, signature: str) -> tuple[int, str]:
        parts = urllib.parse.urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        with self.lock:
            self.received.append(
                {"url": url, "path": path, "params": dict(params), "signature": signature}
            )
        reply = self.routes.get(path)
        if reply is None:
            return 200, ""
        if callable(reply):
            reply = reply(params)
        if isinstance(reply, tuple):
            return reply
        return 200, reply

    # ``deliver`` for the fake: the same app, without the network.
    def __call__(self, url: str, params: dict, signature: str) -> tuple[int, str]:
        return self.respond(url, params, signature)


@pytest.fixture
def app():
    """A scripted app the fake reaches through ``deliver`` (no network)."""
    return ScriptedApp()


@pytest.fixture
def fake(app):
    """A running fake provider whose callbacks go to ``app`` through ``deliver``."""
    with FakeProvider(ACCOUNT_SID, AUTH_TOKEN, deliver=app) as provider:
        yield provider


@pytest.fixture
def receiver():
    """A scripted app behind a real stdlib HTTP server on 127.0.0.1."""
    scripted = ScriptedApp()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            return

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8")
            params = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
            url = scripted.base_url + self.path
            reply = scripted.respond(url, params, self.headers.get("X-Twilio-Signature"))
            status, text, headers = (*reply, {}) if len(reply) == 2 else reply
            data = text.encode("utf-8")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST  # a GET carries no body: recorded with empty params

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    scripted.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield scripted
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake_over_http(receiver):
    """A running fake provider whose callbacks are real HTTP POSTs to ``receiver``."""
    with FakeProvider(ACCOUNT_SID, AUTH_TOKEN) as provider:
        yield provider
