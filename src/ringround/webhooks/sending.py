"""One HTTP POST to an endpoint: signed, to an address checked as it is connected to, with
short timeouts, never following a redirect.

The address check is made on the address actually connected to (the name is resolved here,
and the connection made to that address, certificates still checked against the name), so a
name that resolves to a public address when saved and to 127.0.0.1 later (DNS rebinding) is
refused too."""

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

USER_AGENT = "Ringround-Webhooks/1"
SIGNATURE_HEADER = "Ringround-Signature"
MAX_RESPONSE_BYTES = 1024  # read and drop: only the status matters


class Refused(Exception):
    """Not sent, and why (an address not allowed, a URL that is not http(s))."""


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body, keyed with the secret>``: the
    timestamp is signed with the body, so an old request cannot be sent again later as new."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def address_allowed(address: str) -> bool:
    """A public address, or any when RINGROUND_WEBHOOKS_ALLOW_PRIVATE is on."""
    if settings.RINGROUND_WEBHOOKS_ALLOW_PRIVATE:
        return True
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an http(s) URL; ``Refused`` otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("Only http:// and https:// URLs can be sent to.")
    if parts.username or parts.password:
        raise Refused("A URL with a user name or password in it is not sent to.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Refused("The URL's port is not a number.") from exc
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


def resolve(host: str, port: int) -> str:
    """The first address ``host`` resolves to, if every one of them is allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"The name {host} could not be resolved.") from exc
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise Refused(f"The name {host} has no address.")
    refused = [a for a in addresses if not address_allowed(a)]
    if refused:
        raise Refused(f"{host} resolves to an address that is not public ({refused[0]}).")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address already checked, whatever the name resolves to now."""

    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class Answer:
    status_code: int | None
    duration_ms: int
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, body: bytes, headers: dict[str, str], *, secret: str) -> Answer:
    """POST ``body`` to ``url``, signed with ``secret`` as it leaves. Never raises for what
    the endpoint does (refused, timed out, answered 500): that is in the ``Answer``."""
    started = time.monotonic()

    def answer(status=None, error=""):
        return Answer(status, int((time.monotonic() - started) * 1000), error[:300])

    try:
        scheme, host, port, path = split_url(url)
        address = resolve(host, port)
    except Refused as exc:
        return answer(error=str(exc))
    kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = kind(host, port, address, timeout=settings.RINGROUND_WEBHOOKS_TIMEOUT)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **headers,
        SIGNATURE_HEADER: signature_header(secret, body, int(time.time())),
    }
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        return answer(response.status)
    except (OSError, http.client.HTTPException) as exc:
        return answer(error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    finally:
        connection.close()
