"""The small interface the app uses to place connected calls, and its implementations.

``OwnPhone`` is today's ``tel:`` link (the volunteer dials on their own phone, so no provider is
involved). ``TwilioBridge`` speaks Twilio's REST API (SignalWire's compatible API speaks the same)
with the standard library only, so there is no new dependency and the local fake provider
(``ringround.telephony.fake``) can stand in for it over real HTTP in tests and demos.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

#: Ofcom's persistent-misuse policy: let a number ring for at least 15 seconds before giving up.
MIN_RING_SECONDS = 15

#: Twilio's events, in the order a call passes through them.
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")

CALL_SID = re.compile(r"^CA[0-9a-f]{32}$")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
#: The provider's answers are small JSON documents; anything bigger is not the provider.
MAX_ANSWER_BYTES = 1_000_000

ParamValue = str | list[str] | tuple[str, ...]


class ProviderError(Exception):
    """The provider refused, failed or could not be reached; the message says which, plainly,
    and never quotes a phone number, so it may be shown to a volunteer or logged.

    ``code`` is the provider's own error code when it gave one (e.g. 21211 for an invalid ``To``),
    ``status`` the HTTP status when there was one, ``detail`` the provider's raw message.
    """

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status
        self.detail = ""  # the provider's own words, which may quote a number: never show them


@dataclass(frozen=True)
class Dial:
    """One call to place: whom to ring, which caller ID they see, where the provider reports."""

    to: str  # E.164
    caller_id: str  # E.164, shown to whoever is called
    answer_url: str  # where the provider fetches TwiML when the call is answered
    status_url: str  # status callbacks (initiated, ringing, answered, completed)
    ring_seconds: int = 30  # Timeout
    detect_machine: bool = False  # MachineDetection=Enable

    def __post_init__(self):
        if self.ring_seconds < MIN_RING_SECONDS:
            raise ValueError(
                f"a call must ring for at least {MIN_RING_SECONDS} seconds (Ofcom); "
                f"got {self.ring_seconds}"
            )


class Provider(Protocol):
    name: str

    def place_call(self, dial: Dial) -> str: ...

    def redirect(self, call_id: str, answer_url: str) -> None: ...

    def hang_up(self, call_id: str) -> None: ...

    def is_signed(self, url: str, params: Mapping[str, ParamValue], signature: str) -> bool: ...


def _values(value: ParamValue) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def request_signature(auth_token: str, url: str, params: Mapping[str, ParamValue] | None) -> str:
    """Twilio's ``X-Twilio-Signature``: base64 HMAC-SHA1, keyed by the auth token, of the full URL
    followed by every POST parameter, sorted by name, as name+value with no separators (a name
    sent several times contributes each of its values, sorted). ``params`` may be a dict (a list
    value for a repeated name) or Django's ``request.POST``."""
    data = url
    params = params or {}
    for name in sorted(set(params)):
        # A QueryDict's [] gives only the last of a repeated name: every value must be signed.
        values = params.getlist(name) if hasattr(params, "getlist") else _values(params[name])
        for value in sorted(values):
            data += name + value
    mac = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def signatures_match(a: str, b: str) -> bool:
    """Compare two signatures in constant time, so a forger learns nothing from timing; an empty
    or missing signature never matches."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _url_variants(url: str) -> list[str]:
    """The URL as given, without its port, and with the default port: Twilio signs the URL as it
    requested it, and proxies in front of the app may add or drop the port."""
    variants = [url]
    parts = urllib.parse.urlsplit(url)
    if parts.hostname is None:
        return variants
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    without = parts._replace(netloc=f"{prefix}{host}").geturl()
    if parts.port is not None and without not in variants:
        variants.append(without)
    if parts.port is None and default_port is not None:
        variants.append(parts._replace(netloc=f"{prefix}{host}:{default_port}").geturl())
    return variants


def check_base_url(url: str) -> str:
    """The provider's API address, if it is safe to send the account's token to: https, or
    plain http only to this machine (the local fake). Raises ValueError saying what is wrong."""
    parts = urllib.parse.urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "The provider's address must be a web address such as https://api.twilio.com"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("The provider's address must not carry a password, query or fragment")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ValueError("The provider's address must use https (plain http only to this machine)")
    return url.rstrip("/")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The provider's API never redirects; following one would resend the token elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


class OwnPhone:
    """The volunteer calls from their own phone via a ``tel:`` link: nothing to place or sign."""

    name = "own_phone"

    def place_call(self, dial: Dial) -> str:
        raise ProviderError("own phone places no calls")

    def redirect(self, call_id: str, answer_url: str) -> None:
        raise ProviderError("own phone places no calls")

    def hang_up(self, call_id: str) -> None:
        raise ProviderError("own phone places no calls")

    def is_signed(self, url: str, params: Mapping[str, ParamValue], signature: str) -> bool:
        return False


class TwilioBridge:
    """Twilio's (or SignalWire's compatible) REST API: rings a number, redirects a live call to new
    TwiML, hangs a call up, and checks that a callback really came from the provider."""

    name = "bridge"

    def __init__(self, base_url: str, account_sid: str, auth_token: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.timeout = timeout

    # -- the interface --------------------------------------------------------------------------

    def place_call(self, dial: Dial) -> str:
        params: list[tuple[str, str]] = [
            ("To", dial.to),
            ("From", dial.caller_id),
            ("Url", dial.answer_url),
            ("Method", "POST"),
            ("StatusCallback", dial.status_url),
            ("StatusCallbackMethod", "POST"),
            *(("StatusCallbackEvent", event) for event in STATUS_EVENTS),
            ("Timeout", str(int(dial.ring_seconds))),
        ]
        if dial.detect_machine:
            params.append(("MachineDetection", "Enable"))
        body = self._post(self._calls_url(), params)
        sid = body.get("sid") if isinstance(body, dict) else None
        if not isinstance(sid, str) or not sid:
            raise ProviderError("the provider accepted the call but returned no call id")
        return sid

    def redirect(self, call_id: str, answer_url: str) -> None:
        self._post(self._call_url(call_id), [("Url", answer_url), ("Method", "POST")])

    def hang_up(self, call_id: str) -> None:
        self._post(self._call_url(call_id), [("Status", "completed")])

    def is_signed(self, url: str, params: Mapping[str, ParamValue], signature: str) -> bool:
        if not signature:
            return False
        return any(
            signatures_match(request_signature(self.auth_token, variant, params), signature)
            for variant in _url_variants(url)
        )

    # -- HTTP -----------------------------------------------------------------------------------

    def _calls_url(self) -> str:
        account = urllib.parse.quote(self.account_sid, safe="")
        return f"{self.base_url}/2010-04-01/Accounts/{account}/Calls.json"

    def _call_url(self, call_id: str) -> str:
        if not isinstance(call_id, str) or not CALL_SID.match(call_id):
            raise ProviderError(f"not a call id: {call_id!r}")
        account = urllib.parse.quote(self.account_sid, safe="")
        return f"{self.base_url}/2010-04-01/Accounts/{account}/Calls/{call_id}.json"

    def _post(self, url: str, params: Iterable[tuple[str, str]]) -> dict:
        try:
            check_base_url(self.base_url)
        except ValueError as error:
            raise ProviderError(str(error)) from None
        data = urllib.parse.urlencode(list(params)).encode("utf-8")
        credentials = f"{self.account_sid}:{self.auth_token}".encode()
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={
                "Authorization": "Basic " + base64.b64encode(credentials).decode("ascii"),
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        try:
            with _opener.open(request, timeout=self.timeout) as response:
                raw = response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as error:
            raise _refusal(error) from None
        except TimeoutError as error:
            raise ProviderError(f"the provider did not answer in {self.timeout:g} s") from error
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, TimeoutError):
                raise ProviderError(f"the provider did not answer in {self.timeout:g} s") from error
            raise ProviderError(f"the provider could not be reached: {reason}") from error
        if len(raw) > MAX_ANSWER_BYTES:
            raise ProviderError("the provider answered with far more than a call's details")
        try:
            return json.loads(raw.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError) as error:
            raise ProviderError("the provider answered with something that is not JSON") from error


#: Short, number-free words for the refusals the app is likely to meet. The provider's own
#: message often quotes the number dialled, which must not reach a volunteer's page or a log.
KNOWN_CODES = {
    20003: "wrong account or token",
    20404: "no such call",
    21201: "no number to call",
    21210: "the caller ID is not verified for this account",
    21211: "invalid To",
    21212: "invalid caller ID",
    21213: "no caller ID",
    21214: "the number cannot be reached",
    21215: "calls to that country are not enabled",
    21216: "the number is blocked",
    21217: "invalid To",
    21205: "invalid answer URL",
    21220: "the call is not in progress",
}

PHONE_LIKE = re.compile(r"[+(]?\d[\d ().-]{5,}\d")


def scrub_numbers(text: str) -> str:
    """Replace anything that looks like a phone number, so an error can be shown and logged."""
    return PHONE_LIKE.sub("[number]", text)


def _refusal(error: urllib.error.HTTPError) -> ProviderError:
    """Turn a provider's 4xx/5xx answer into a ProviderError carrying its code; the text says
    what went wrong without the number dialled (the raw message is kept in ``detail``)."""
    code = None
    detail = error.reason if isinstance(error.reason, str) else ""
    try:
        body = json.loads(error.read(MAX_ANSWER_BYTES).decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("code"), int):
            code = body["code"]
        if isinstance(body.get("message"), str) and body["message"]:
            detail = body["message"]
    words = KNOWN_CODES.get(code) or scrub_numbers(detail)[:200]
    text = " ".join(str(part) for part in (code, words) if part not in (None, ""))
    refusal = ProviderError(
        f"the provider refused ({error.code}): {text or 'no reason given'}",
        code=code,
        status=error.code,
    )
    refusal.detail = detail
    return refusal
