"""A local fake telephony provider: a real HTTP server speaking the subset of Twilio's REST API that
``TwilioBridge`` uses, and a small TwiML interpreter that plays the people being called.

Why: the app's calling flows (bridge, conference, Ofcom's abandoned-call message, inbound return
calls) must be testable and demonstrable without a provider account, without the network and
without sleeping. So the fake keeps its own clock: nothing happens until ``advance(seconds)``,
which runs every event due, in order, delivering callbacks synchronously before it returns.
``run_in_real_time()`` advances it by wall-clock time instead, for the demo and browser tests.

Callbacks are real HTTP POSTs (urllib) signed with ``request_signature``, or, when ``deliver`` is
given, a call ``deliver(url, params, signature) -> (status_code, body_text)`` so a Django test can
route them through its test Client.

What it leaves out (Twilio does more): a <Dial> rings only its first <Number>; <Record> ends on
hang-up, a key or maxLength, not on silence; <Conference waitUrl> is not fetched; TwiML is always
fetched with POST; <Dial timeLimit>, <Enqueue>, <Connect>, <Sip> and <Client> are not known.

Threads: one lock guards the fake's state; only the thread running ``advance`` changes calls, and
it lets go of the lock while a callback is in flight, so the app may call the REST API (redirect,
hang up) from inside a callback without a deadlock: such requests only schedule events, which the
running ``advance`` picks up.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import heapq
import itertools
import json
import math
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ringround.telephony.providers import request_signature, signatures_match

API_VERSION = "2010-04-01"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
ANSWERS = ("human", "machine", "busy", "no-answer", "failed")
DEFAULT_ACCOUNT_SID = "AC" + hashlib.md5(b"ringround fake provider").hexdigest()
#: 2026-01-01T00:00:00Z: what the simulated clock's zero means in Timestamps, unless told.
DEFAULT_EPOCH = 1767225600.0
#: How long the fake pretends a <Play> lasts (it cannot know the audio's length).
PLAY_SECONDS = 5.0
#: Twilio gives up on a TwiML fetch after 15 s; the fake is a little less patient.
FETCH_TIMEOUT = 10.0
#: More fetches than this by one call at one instant is a Redirect loop.
MAX_FETCHES_AT_ONCE = 50

Deliver = Callable[[str, dict, str], tuple[int, str]]


@dataclass(frozen=True)
class Behaviour:
    """How a called number behaves: whether it answers, after how long, and how long it stays.

    ``talk_seconds=None`` means the person stays on the line until the other side ends the call.
    """

    answer: str = "human"
    ring_seconds: float = 5
    talk_seconds: float | None = 60

    def __post_init__(self):
        if self.answer not in ANSWERS:
            raise ValueError(f"answer must be one of {', '.join(ANSWERS)}; got {self.answer!r}")
        if self.ring_seconds < 0 or (self.talk_seconds is not None and self.talk_seconds < 0):
            raise ValueError("ring_seconds and talk_seconds cannot be negative")


@dataclass
class Seeded:
    """Random but reproducible behaviour per number, for the demo: of all numbers rung,
    ``answer_rate`` answer, and ``machine_share`` of those that answer are answering machines."""

    seed: int
    answer_rate: float = 0.2
    machine_share: float = 0.25

    def behaviour_for(self, number: str) -> Behaviour:
        rng = random.Random(f"{self.seed}:{number}")
        if rng.random() < self.answer_rate:
            if rng.random() < self.machine_share:
                return Behaviour(
                    "machine", round(rng.uniform(8, 20), 1), round(rng.uniform(20, 40))
                )
            return Behaviour("human", round(rng.uniform(3, 14), 1), round(rng.uniform(30, 300)))
        roll = rng.random()
        if roll < 0.1:
            return Behaviour("failed", 0, None)
        if roll < 0.3:
            return Behaviour("busy", round(rng.uniform(2, 6), 1), None)
        return Behaviour("no-answer", 120, None)


# -- what a call is doing while time passes -----------------------------------------------------


@dataclass
class _Wait:  # Say, Pause, Play
    verb: str


@dataclass
class _DialNumber:
    child_sid: str
    action: str | None
    started_at: float
    bridged_at: float | None = None


@dataclass
class _InConference:
    conference: Conference
    action: str | None
    end_on_exit: bool


@dataclass
class _Gather:
    action: str
    num_digits: int | None
    timeout: float
    finish_on_key: str
    prompts: list
    digits: str = ""


@dataclass
class _Record:
    action: str
    started_at: float
    finish_on_key: str


@dataclass
class _Bridged:  # a Dial's child leg, joined to its parent
    parent_sid: str


@dataclass
class Conference:
    """One conference room as it lives: a name can be reused after the room has ended."""

    name: str
    sid: str
    members: list[str] = field(default_factory=list)
    members_ever: list[str] = field(default_factory=list)
    started_at: float | None = None
    ended_at: float | None = None
    status_url: str | None = None
    status_events: tuple[str, ...] = ()
    sequence: int = 0


@dataclass
class FakeCall:
    """One leg, with everything a test may want to assert about it."""

    sid: str
    account_sid: str
    to: str
    from_: str  # the caller ID this leg's callee saw
    direction: str  # outbound-api | outbound-dial | inbound
    behaviour: Behaviour
    created_at: float
    url: str | None = None
    twiml: str | None = None
    status_url: str | None = None
    status_events: tuple[str, ...] = ("completed",)
    timeout: float = 60
    detect_machine: bool = False
    parent_sid: str | None = None
    status: str = "queued"
    ringing_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    answered_by: str | None = None
    said: list[tuple[float, str]] = field(default_factory=list)
    played: list[tuple[float, str]] = field(default_factory=list)
    conference: str | None = None
    conferences: list[str] = field(default_factory=list)
    gathered: list[tuple[float, str]] = field(default_factory=list)
    recordings: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    history: list[tuple[float, str]] = field(default_factory=list)
    # the interpreter's state
    program: list = field(default_factory=list, repr=False)
    document_url: str | None = None
    activity: object | None = None
    generation: int = 0
    sequence: int = 0
    fetches: tuple[float, int] = (-1.0, 0)
    hangs_up_at: float | None = None

    def __repr__(self) -> str:
        return (
            f"<FakeCall {self.sid} {self.direction} to={self.to} from={self.from_} "
            f"status={self.status} answered_at={self.answered_at} ended_at={self.ended_at}>"
        )

    @property
    def from_shown(self) -> str:
        return self.from_

    @property
    def duration(self) -> int:
        """Whole seconds answered (Twilio's CallDuration)."""
        if self.answered_at is None:
            return 0
        end = self.ended_at if self.ended_at is not None else self.answered_at
        return int(end - self.answered_at)

    @property
    def live(self) -> bool:
        return self.ended_at is None


def _sid(prefix: str, *parts) -> str:
    return prefix + hashlib.md5(":".join(str(p) for p in parts).encode()).hexdigest()


def _flat(params: dict[str, list[str]]) -> dict[str, str | list[str]]:
    return {k: v[0] if len(v) == 1 else v for k, v in params.items()}


def _truthy(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() == "true"


def _number(value: str | None, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


class FakeProvider:
    """A fake Twilio: ``start()`` it, point ``TwilioBridge`` at ``base_url``, ``advance()`` time."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = "fake-auth-token",
        deliver: Deliver | None = None,
        *,
        epoch: float = DEFAULT_EPOCH,
        detect_seconds: float = 0.0,
        default: Behaviour | None = None,
    ):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.deliver = deliver
        self.epoch = epoch
        #: How long machine detection listens before the answer Url is fetched (Twilio: a few s).
        self.detect_seconds = detect_seconds
        self.default = default or Behaviour()
        self.now = 0.0
        self.base_url: str | None = None
        self.requests: list[dict] = []
        self.errors: list[str] = []
        self._calls: dict[str, FakeCall] = {}
        self._conferences: dict[str, Conference] = {}
        self._behaviours: dict[str, Behaviour] = {}
        self._seeded: Seeded | None = None
        self._incoming: dict[str, tuple[str, str | None]] = {}
        self._heap: list = []
        self._order = itertools.count()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._advance_lock = threading.Lock()
        self._advancing: int | None = None
        self._server: ThreadingHTTPServer | None = None
        self._server_thread: threading.Thread | None = None
        self._clock_thread: threading.Thread | None = None
        self._clock_stop = threading.Event()

    # -- life -----------------------------------------------------------------------------------

    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        """Serve on 127.0.0.1 (a free port unless told) in a daemon thread; returns the base URL."""
        if self._server is not None:
            return self.base_url
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        self._server_thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-provider-http",
            daemon=True,
        )
        self._server_thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop the real-time clock (if running) and the HTTP server."""
        self._clock_stop.set()
        if self._clock_thread is not None and self._clock_thread is not threading.current_thread():
            self._clock_thread.join(timeout=5)
        self._clock_thread = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeProvider:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- how numbers behave ---------------------------------------------------------------------

    def behave(self, number: str, behaviour: Behaviour) -> None:
        with self._lock:
            self._behaviours[number] = behaviour

    def seeded(self, seed: int, answer_rate: float = 0.2, machine_share: float = 0.25) -> None:
        """Numbers without their own ``behave`` get random, reproducible behaviour from ``seed``."""
        with self._lock:
            self._seeded = Seeded(seed, answer_rate, machine_share)

    def behaviour_for(self, number: str) -> Behaviour:
        if number in self._behaviours:
            return self._behaviours[number]
        if self._seeded is not None:
            return self._seeded.behaviour_for(number)
        return self.default

    # -- the clock ------------------------------------------------------------------------------

    def advance(self, seconds: float = 0.0) -> None:
        """Move the simulated clock on, running every event due in order (callbacks included)."""
        if seconds < 0:
            raise ValueError("the clock only goes forward")
        if self._advancing == threading.get_ident():
            raise RuntimeError(
                "advance() was called from inside a callback the fake is delivering; "
                "return from the callback and advance afterwards"
            )
        with self._advance_lock, self._lock:
            self._advancing = threading.get_ident()
            try:
                target = self.now + seconds
                while self._heap and self._heap[0][0] <= target:
                    when, _, fn, args = heapq.heappop(self._heap)
                    self.now = max(self.now, when)
                    fn(*args)
                self.now = max(self.now, target)
            finally:
                self._advancing = None

    def run_in_real_time(self, speed: float = 1.0, tick: float = 0.05) -> None:
        """Advance by wall-clock time (times ``speed``) in a daemon thread until ``stop()``."""
        if self._clock_thread is not None:
            return
        self._clock_stop.clear()

        def run():
            last = time.monotonic()
            while not self._clock_stop.wait(tick):
                current = time.monotonic()
                try:
                    self.advance((current - last) * speed)
                except Exception as error:  # keep the demo alive; the error is kept for tests
                    self.errors.append(f"clock: {type(error).__name__}: {error}")
                last = current

        self._clock_thread = threading.Thread(target=run, name="fake-provider-clock", daemon=True)
        self._clock_thread.start()

    def _schedule(self, delay: float, fn, *args) -> None:
        heapq.heappush(self._heap, (self.now + max(0.0, delay), next(self._order), fn, args))

    def _schedule_for(self, call: FakeCall, delay: float, fn, *args) -> None:
        """An event of the call's current activity: dropped if the call moves on or ends first."""
        generation = call.generation

        def guarded():
            if call.live and call.generation == generation:
                fn(*args)

        self._schedule(delay, guarded)

    def _run_now(self) -> None:
        """After a test's own action (press, hang up, ring in): run what is due at once, unless
        this thread is already inside ``advance`` (then that run picks it up)."""
        if self._advancing != threading.get_ident():
            self.advance(0)

    # -- inspection -----------------------------------------------------------------------------

    @property
    def calls(self) -> list[FakeCall]:
        with self._lock:
            return list(self._calls.values())

    def call(self, sid: str) -> FakeCall:
        try:
            return self._calls[sid]
        except KeyError:
            raise KeyError(f"the fake placed no call {sid!r}") from None

    def calls_to(self, number: str) -> list[FakeCall]:
        return [c for c in self.calls if c.to == number]

    def caller_ids_seen_by(self, number: str) -> list[str]:
        """Every From that ``number`` saw on the calls it received, in order."""
        return [c.from_ for c in self.calls if c.to == number]

    def conference(self, name: str) -> Conference | None:
        """The latest room of that name (live or ended)."""
        return self._conferences.get(name)

    def conference_members(self, name: str) -> list[str]:
        """Sids of the calls in the named room now (empty when it has ended or never began)."""
        room = self._conferences.get(name)
        return list(room.members) if room else []

    def sent(self, kind: str | None = None) -> list[dict]:
        """The requests the fake sent (callbacks and TwiML fetches), optionally of one kind."""
        return [
            r
            for r in list(self.requests)
            if r["direction"] == "out" and (kind is None or r["kind"] == kind)
        ]

    def status_callbacks(self, sid: str) -> list[str]:
        """The CallStatus of each status callback sent for one call, in order."""
        return [
            r["params"]["CallStatus"]
            for r in self.sent("status")
            if r["params"].get("CallSid") == sid
        ]

    # -- what people do -------------------------------------------------------------------------

    def press(self, call_sid: str, digits: str) -> None:
        """The person on that leg presses keys (for <Gather> or to end a <Record>)."""
        with self._lock:
            call = self.call(call_sid)
            for digit in digits:
                self._schedule(0, self._pressed, call, digit)
        self._run_now()

    def hang_up(self, call_sid: str) -> None:
        """The person on that leg hangs up."""
        with self._lock:
            call = self.call(call_sid)
            self._schedule(0, self._person_hangs_up, call)
        self._run_now()

    def set_incoming(self, number: str, voice_url: str, status_url: str | None = None) -> None:
        """Configure one of the account's numbers: where to fetch TwiML when someone calls it."""
        with self._lock:
            self._incoming[number] = (voice_url, status_url)

    def ring_in(self, from_number: str, to_number: str, talk_seconds: float | None = None) -> str:
        """Someone calls one of the account's numbers; returns the inbound call's sid."""
        with self._lock:
            if to_number not in self._incoming:
                raise ValueError(f"{to_number} is not one of this account's numbers")
            voice_url, status_url = self._incoming[to_number]
            call = self._new_call(
                to=to_number,
                from_=from_number,
                direction="inbound",
                behaviour=Behaviour("human", 0, talk_seconds),
                url=voice_url,
                status_url=status_url,
                status_events=("completed",),
            )
            self._schedule(0, self._start_inbound, call)
        self._run_now()
        return call.sid

    # -- the REST API's effects (called by the HTTP handler, under the lock) ---------------------

    def _new_call(self, **fields) -> FakeCall:
        sid = _sid("CA", self.account_sid, "call", next(self._ids))
        call = FakeCall(sid=sid, account_sid=self.account_sid, created_at=self.now, **fields)
        self._calls[sid] = call
        return call

    def _api_create(self, params: dict) -> tuple[int, dict]:
        to = params.get("To", "")
        from_ = params.get("From", "")
        if not to:
            return 400, _error(21201, "No 'To' number is specified", 400)
        if not E164.match(to):
            return 400, _error(21211, f"The 'To' number {to} is not a valid phone number.", 400)
        if not from_:
            return 400, _error(21213, "No 'From' number is specified", 400)
        if not E164.match(from_):
            return 400, _error(
                21212, f"The 'From' number {from_} is not a valid phone number.", 400
            )
        if not params.get("Url") and not params.get("Twiml"):
            return 400, _error(21205, "A 'Url' or 'Twiml' parameter is required.", 400)
        events = params.get("StatusCallbackEvent", [])
        events = [events] if isinstance(events, str) else list(events)
        events = tuple(e for part in events for e in part.split())
        try:
            timeout = float(params.get("Timeout", 60))
        except ValueError:
            return 400, _error(21210, "Timeout must be a number of seconds.", 400)
        call = self._new_call(
            to=to,
            from_=from_,
            direction="outbound-api",
            behaviour=self.behaviour_for(to),
            url=params.get("Url") or None,
            twiml=params.get("Twiml") or None,
            status_url=params.get("StatusCallback") or None,
            status_events=events or ("completed",),
            timeout=max(1.0, min(timeout, 600.0)),
            detect_machine=params.get("MachineDetection") in ("Enable", "DetectMessageEnd"),
        )
        self._schedule(0, self._start_outbound, call)
        return 201, self._resource(call)

    def _api_update(self, call: FakeCall, params: dict) -> tuple[int, dict]:
        status = params.get("Status")
        url = params.get("Url") or None
        twiml = params.get("Twiml") or None
        if status in ("completed", "canceled"):
            if call.live:
                self._schedule(0, self._api_hangs_up, call, status)
            return 200, self._resource(call)
        if status:
            return 400, _error(21218, f"Invalid Status {status!r}", 400)
        if url or twiml:
            if not call.live:
                return 400, _error(21220, "Call is not in-progress. Cannot redirect.", 400)
            self._schedule(0, self._api_redirects, call, url, twiml)
            return 200, self._resource(call)
        return 400, _error(21205, "Nothing to update: give Url, Twiml or Status.", 400)

    def _resource(self, call: FakeCall) -> dict:
        uri = f"/{API_VERSION}/Accounts/{call.account_sid}/Calls/{call.sid}.json"
        return {
            "sid": call.sid,
            "account_sid": call.account_sid,
            "api_version": API_VERSION,
            "to": call.to,
            "from": call.from_,
            "status": call.status,
            "direction": call.direction,
            "answered_by": call.answered_by,
            "parent_call_sid": call.parent_sid,
            "date_created": self._stamp(call.created_at),
            "start_time": self._stamp(call.answered_at) if call.answered_at is not None else None,
            "end_time": self._stamp(call.ended_at) if call.ended_at is not None else None,
            "duration": str(call.duration) if call.ended_at is not None else None,
            "uri": uri,
        }

    def _stamp(self, t: float) -> str:
        moment = dt.datetime.fromtimestamp(self.epoch + t, tz=dt.UTC)
        return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")

    # -- HTTP out -------------------------------------------------------------------------------

    def _send(self, url: str, params: dict, kind: str) -> tuple[int, str]:
        """POST signed params to the app (or hand them to ``deliver``); lets go of the lock while
        the app answers, so the app may use the REST API meanwhile."""
        params = {k: str(v) for k, v in params.items() if v is not None}
        signature = request_signature(self.auth_token, url, params)
        entry = {
            "direction": "out",
            "kind": kind,
            "method": "POST",
            "url": url,
            "params": dict(params),
            "signature": signature,
            "t": self.now,
            "status": None,
            "body": None,
        }
        self.requests.append(entry)
        self._lock.release()
        try:
            if self.deliver is not None:
                status, body = self.deliver(url, dict(params), signature)
            else:
                status, body = _post(url, params, signature)
        except Exception as error:  # the app being down is the app's problem, not the fake's
            status, body = 0, f"{type(error).__name__}: {error}"
            self.errors.append(f"{kind} to {url} raised {body}")
        finally:
            self._lock.acquire()
        entry["status"], entry["body"] = status, body
        return int(status or 0), body if isinstance(body, str) else str(body)

    def _call_params(self, call: FakeCall, **extra) -> dict:
        params = {
            "CallSid": call.sid,
            "AccountSid": call.account_sid,
            "From": call.from_,
            "To": call.to,
            "Caller": call.from_,
            "Called": call.to,
            "CallStatus": call.status,
            "ApiVersion": API_VERSION,
            "Direction": call.direction,
            "ParentCallSid": call.parent_sid,
            "AnsweredBy": call.answered_by,
        }
        params.update(extra)
        return params

    def _status_callback(self, call: FakeCall, event: str) -> None:
        if not call.status_url or event not in call.status_events:
            return
        extra = {
            "CallbackSource": "call-progress-events",
            "Timestamp": self._stamp(self.now),
            "SequenceNumber": str(call.sequence),
        }
        if event == "completed":
            extra["CallDuration"] = str(call.duration)
            extra["Duration"] = str(math.ceil(call.duration / 60))
        call.sequence += 1
        self._send(call.status_url, self._call_params(call, **extra), "status")

    def _conference_event(self, room: Conference, event: str, call: FakeCall | None) -> None:
        short = event.split("-", 1)[1] if event.startswith("conference-") else event.split("-")[1]
        if not room.status_url or short not in room.status_events:
            return
        params = {
            "ConferenceSid": room.sid,
            "FriendlyName": room.name,
            "AccountSid": self.account_sid,
            "StatusCallbackEvent": event,
            "Timestamp": self._stamp(self.now),
            "SequenceNumber": str(room.sequence),
            "CallSid": call.sid if call else None,
        }
        room.sequence += 1
        self._send(room.status_url, params, "conference")

    # -- a call's life --------------------------------------------------------------------------

    def _set_status(self, call: FakeCall, status: str) -> None:
        call.status = status
        call.history.append((self.now, status))

    def _start_outbound(self, call: FakeCall) -> None:
        if not call.live:
            return
        call.behaviour = self.behaviour_for(call.to)  # as set when it starts ringing
        self._set_status(call, "initiated")
        self._status_callback(call, "initiated")
        if not call.live:
            return
        behaviour = call.behaviour
        if behaviour.answer == "failed":
            self._end(call, "failed")
            return
        self._set_status(call, "ringing")
        call.ringing_at = self.now
        self._status_callback(call, "ringing")
        if not call.live:
            return
        rings_out = behaviour.ring_seconds >= call.timeout
        if behaviour.answer in ("human", "machine") and not rings_out:
            self._schedule_for(call, behaviour.ring_seconds, self._answer, call)
        elif behaviour.answer == "busy" and not rings_out:
            self._schedule_for(call, behaviour.ring_seconds, self._end, call, "busy")
        else:
            self._schedule_for(call, call.timeout, self._end, call, "no-answer")

    def _answer(self, call: FakeCall) -> None:
        call.answered_at = self.now
        if call.detect_machine:
            call.answered_by = "machine_start" if call.behaviour.answer == "machine" else "human"
        self._set_status(call, "in-progress")
        talk = call.behaviour.talk_seconds
        if talk is not None:
            call.hangs_up_at = self.now + talk
            self._schedule(talk, self._person_hangs_up, call)
        self._status_callback(call, "answered")
        if not call.live:
            return
        parent = self._calls.get(call.parent_sid) if call.parent_sid else None
        if parent is not None:
            self._child_answered(parent, call)
            return
        delay = self.detect_seconds if call.detect_machine else 0.0
        if call.twiml:
            self._schedule_for(call, delay, self._load, call, call.twiml, None)
        else:
            self._schedule_for(call, delay, self._fetch_and_run, call, call.url, {})

    def _start_inbound(self, call: FakeCall) -> None:
        self._set_status(call, "ringing")
        call.ringing_at = self.now
        program = self._fetch(call, call.url, {})
        if program is None or not call.live:
            return
        if program and program[0].tag == "Reject":
            reason = program[0].get("reason", "rejected")
            self._end(call, "busy" if reason == "busy" else "no-answer")
            return
        call.answered_at = self.now
        self._set_status(call, "in-progress")
        talk = call.behaviour.talk_seconds
        if talk is not None:
            self._schedule(talk, self._person_hangs_up, call)
        self._run_program(call, program, call.url)

    def _person_hangs_up(self, call: FakeCall) -> None:
        if call.live:
            self._end(call, "completed" if call.answered_at is not None else "canceled")

    def _api_hangs_up(self, call: FakeCall, status: str) -> None:
        if call.live:
            self._end(call, "completed" if call.answered_at is not None else "canceled")

    def _api_redirects(self, call: FakeCall, url: str | None, twiml: str | None) -> None:
        if not call.live:
            return
        if call.answered_at is None:
            call.url, call.twiml = url, twiml  # Twilio: the new TwiML is used once answered
            return
        self._interrupt(call)
        if twiml:
            self._load(call, twiml, None)
        else:
            self._fetch_and_run(call, url, {})

    def _interrupt(self, call: FakeCall) -> None:
        """Stop what the call is doing (leave its room, drop its Dial's other leg) to run new
        TwiML, as Twilio does on a redirect."""
        activity, call.activity = call.activity, None
        call.program = []
        call.generation += 1
        if isinstance(activity, _DialNumber):
            child = self._calls[activity.child_sid]
            if child.live:
                self._end(child, "completed" if child.answered_at is not None else "canceled")
        elif isinstance(activity, _InConference):
            self._leave_conference(call, activity)

    def _fail(self, call: FakeCall, error: str) -> None:
        call.errors.append(error)
        self.errors.append(f"{call.sid}: {error}")
        self._end(call, "failed")

    def _end(self, call: FakeCall, status: str) -> None:
        """The leg ends: report it, then let the other legs it touched react."""
        if not call.live:
            return
        activity, call.activity = call.activity, None
        call.program = []
        call.generation += 1
        call.ended_at = self.now
        self._set_status(call, status)
        self._status_callback(call, "completed")
        if isinstance(activity, _DialNumber):
            child = self._calls[activity.child_sid]
            if child.live:
                self._end(child, "completed" if child.answered_at is not None else "canceled")
            if activity.action:
                self._send(activity.action, self._dial_result(call, activity, child), "action")
        elif isinstance(activity, _InConference):
            self._leave_conference(call, activity)
        elif isinstance(activity, _Record):
            self._finish_recording(call, activity, "hangup")
        if call.parent_sid:
            parent = self._calls.get(call.parent_sid)
            dialling = parent.activity if parent is not None and parent.live else None
            if isinstance(dialling, _DialNumber) and dialling.child_sid == call.sid:
                self._dial_finished(parent, dialling, call)

    # -- TwiML ----------------------------------------------------------------------------------

    def _fetch(self, call: FakeCall, url: str | None, extra: dict) -> list | None:
        """Fetch TwiML for the call; on failure the call fails (as Twilio's would) and None."""
        if not url:
            self._fail(call, "21205 no Url to fetch TwiML from")
            return None
        when, count = call.fetches
        call.fetches = (self.now, count + 1 if when == self.now else 1)
        if call.fetches[1] > MAX_FETCHES_AT_ONCE:
            self._fail(
                call, f"11200 redirect loop: {url} fetched {MAX_FETCHES_AT_ONCE} times at once"
            )
            return None
        status, body = self._send(url, self._call_params(call, **extra), "twiml")
        if not call.live:
            return None
        if not 200 <= status < 300:
            excerpt = " ".join((body or "").split())[:300]
            self._fail(call, f"11200 HTTP retrieval failure: {url} answered {status}: {excerpt}")
            return None
        return self._parse(call, body)

    def _parse(self, call: FakeCall, body: str) -> list | None:
        try:
            root = ET.fromstring(body.strip().encode("utf-8"))
        except ET.ParseError as error:
            self._fail(call, f"12100 document parse failure: {error}")
            return None
        if root.tag != "Response":
            self._fail(call, f"12100 document parse failure: root is <{root.tag}>, not <Response>")
            return None
        return list(root)

    def _fetch_and_run(self, call: FakeCall, url: str | None, extra: dict) -> None:
        program = self._fetch(call, url, extra)
        if program is not None and call.live:
            self._run_program(call, program, url)

    def _load(self, call: FakeCall, twiml: str, url: str | None) -> None:
        program = self._parse(call, twiml)
        if program is not None and call.live:
            self._run_program(call, program, url)

    def _run_program(self, call: FakeCall, program: list, url: str | None) -> None:
        call.program = list(program)
        call.document_url = url
        call.activity = None
        call.generation += 1
        self._step(call)

    def _step(self, call: FakeCall) -> None:
        """Run verbs until one takes time; when the TwiML runs out the call hangs up."""
        while call.live and call.activity is None:
            if not call.program:
                self._program_done(call)
                return
            verb = call.program.pop(0)
            handler = getattr(self, f"_verb_{verb.tag.lower()}", None)
            if handler is None or verb.tag[:1] != verb.tag[:1].upper():
                self._fail(call, f"12200 schema validation warning: unknown verb <{verb.tag}>")
                return
            handler(call, verb)

    def _program_done(self, call: FakeCall) -> None:
        parent = self._calls.get(call.parent_sid) if call.parent_sid else None
        if parent is not None and parent.live:
            dialling = parent.activity
            if isinstance(dialling, _DialNumber) and dialling.child_sid == call.sid:
                self._bridge(parent, dialling, call)  # the whisper is over: join the legs
                return
        self._end(call, "completed")

    def _resume(self, call: FakeCall) -> None:
        call.activity = None
        self._step(call)

    def _speak(self, call: FakeCall, verb: ET.Element, into: list) -> float:
        """Record a Say/Play and return how long it lasts."""
        loops = int(_number(verb.get("loop"), 1)) or 10
        text = (verb.text or "").strip()
        began = round(self.now - (call.answered_at or self.now), 3)
        into.append((began, text))
        if verb.tag == "Say":
            return loops * max(0.5, len(text.split()) / 2.5)
        return loops * PLAY_SECONDS

    def _verb_say(self, call: FakeCall, verb: ET.Element) -> None:
        call.activity = _Wait("Say")
        self._schedule_for(call, self._speak(call, verb, call.said), self._resume, call)

    def _verb_play(self, call: FakeCall, verb: ET.Element) -> None:
        call.activity = _Wait("Play")
        self._schedule_for(call, self._speak(call, verb, call.played), self._resume, call)

    def _verb_pause(self, call: FakeCall, verb: ET.Element) -> None:
        length = _number(verb.get("length"), 1)
        if length > 0:
            call.activity = _Wait("Pause")
            self._schedule_for(call, length, self._resume, call)

    def _verb_hangup(self, call: FakeCall, verb: ET.Element) -> None:
        self._end(call, "completed")

    def _verb_reject(self, call: FakeCall, verb: ET.Element) -> None:
        """Only a first verb keeps an inbound call from being answered; later, it hangs up."""
        if call.answered_at is not None:
            self._end(call, "completed")
        else:
            self._end(call, "busy" if verb.get("reason") == "busy" else "no-answer")

    def _verb_redirect(self, call: FakeCall, verb: ET.Element) -> None:
        target = urllib.parse.urljoin(call.document_url or "", (verb.text or "").strip())
        call.activity = _Wait("Redirect")
        self._schedule_for(call, 0, self._fetch_and_run, call, target, {})

    # Dial ------------------------------------------------------------------------------------

    def _verb_dial(self, call: FakeCall, verb: ET.Element) -> None:
        action = verb.get("action")
        if action:
            action = urllib.parse.urljoin(call.document_url or "", action)
        timeout = _number(verb.get("timeout"), 30)
        caller_id = verb.get("callerId") or call.from_
        nouns = list(verb)
        if not nouns and (verb.text or "").strip():
            nouns = [ET.Element("Number")]
            nouns[0].text = verb.text.strip()
        if not nouns:
            self._fail(call, "13201 <Dial> has nothing to dial")
            return
        noun = nouns[0]
        if noun.tag == "Conference":
            self._join_conference(call, noun, action)
        elif noun.tag == "Number":
            self._dial_number(call, noun, action, timeout, caller_id)
        else:
            self._fail(
                call, f"12200 schema validation warning: <Dial><{noun.tag}> is not supported"
            )

    def _dial_number(self, call, noun, action, timeout, caller_id) -> None:
        target = (noun.text or "").strip()
        events = tuple((noun.get("statusCallbackEvent") or "completed").split())
        child = self._new_call(
            to=target,
            from_=caller_id,
            direction="outbound-dial",
            behaviour=self.behaviour_for(target),
            url=noun.get("url"),
            status_url=noun.get("statusCallback"),
            status_events=events,
            timeout=timeout,
            parent_sid=call.sid,
        )
        call.activity = _DialNumber(child.sid, action, self.now)
        if not E164.match(target):
            child.errors.append(f"13223 invalid phone number format: {target!r}")
            self._schedule(0, self._end, child, "failed")
            return
        self._schedule(0, self._start_outbound, child)

    def _child_answered(self, parent: FakeCall, child: FakeCall) -> None:
        dialling = parent.activity
        if not (parent.live and isinstance(dialling, _DialNumber)):
            self._end(child, "completed")
            return
        if child.url:  # Number url=: TwiML played to the callee before the legs are joined
            child.activity = None
            self._fetch_and_run(child, child.url, {})
        else:
            self._bridge(parent, dialling, child)

    def _bridge(self, parent: FakeCall, dialling: _DialNumber, child: FakeCall) -> None:
        dialling.bridged_at = self.now
        child.activity = _Bridged(parent.sid)

    def _dial_result(self, parent: FakeCall, dialling: _DialNumber, child: FakeCall) -> dict:
        bridged = dialling.bridged_at is not None
        if bridged:
            status = "completed"
        elif child.status in ("busy", "no-answer", "failed", "canceled"):
            status = child.status
        else:
            status = "canceled" if child.answered_at is None else "completed"
        return self._call_params(
            parent,
            DialCallStatus=status,
            DialCallSid=child.sid,
            DialCallDuration=str(child.duration if bridged else 0),
        )

    def _dial_finished(self, parent: FakeCall, dialling: _DialNumber, child: FakeCall) -> None:
        """The Dial's other leg ended: the caller carries on (Dial action or next verb)."""
        parent.activity = None
        parent.generation += 1
        if dialling.action:
            self._fetch_and_run(parent, dialling.action, self._dial_result(parent, dialling, child))
        else:
            self._step(parent)

    # Conference ------------------------------------------------------------------------------

    def _join_conference(self, call: FakeCall, noun: ET.Element, action: str | None) -> None:
        name = (noun.text or "").strip()
        if not name:
            self._fail(call, "12200 <Conference> needs a name")
            return
        room = self._conferences.get(name)
        if room is None or room.ended_at is not None:
            room = Conference(name, _sid("CF", self.account_sid, "conference", next(self._ids)))
            room.status_url = noun.get("statusCallback")
            room.status_events = tuple((noun.get("statusCallbackEvent") or "").split())
            self._conferences[name] = room
        start = _truthy(noun.get("startConferenceOnEnter"), True)
        end_on_exit = _truthy(noun.get("endConferenceOnExit"), False)
        room.members.append(call.sid)
        room.members_ever.append(call.sid)
        call.conference = name
        call.conferences.append(name)
        call.activity = _InConference(room, action, end_on_exit)
        self._conference_event(room, "participant-join", call)
        if start and room.started_at is None and room.ended_at is None:
            room.started_at = self.now
            self._conference_event(room, "conference-start", None)

    def _leave_conference(self, call: FakeCall, here: _InConference) -> None:
        room = here.conference
        if call.sid not in room.members:
            return
        room.members.remove(call.sid)
        self._conference_event(room, "participant-leave", call)
        if (here.end_on_exit and room.started_at is not None) or not room.members:
            self._end_conference(room)

    def _end_conference(self, room: Conference) -> None:
        if room.ended_at is not None:
            return
        room.ended_at = self.now
        others, room.members = list(room.members), []
        for sid in others:
            self._conference_event(room, "participant-leave", self._calls[sid])
        self._conference_event(room, "conference-end", None)
        for sid in others:
            other = self._calls[sid]
            here = other.activity
            if other.live and isinstance(here, _InConference) and here.conference is room:
                other.activity = None
                other.generation += 1
                if here.action:
                    self._fetch_and_run(other, here.action, {"DialCallStatus": "completed"})
                else:
                    self._step(other)

    # Gather and Record -----------------------------------------------------------------------

    def _verb_gather(self, call: FakeCall, verb: ET.Element) -> None:
        action = urllib.parse.urljoin(call.document_url or "", verb.get("action") or "")
        num_digits = int(_number(verb.get("numDigits"), 0)) or None
        gathering = _Gather(
            action=action or (call.document_url or ""),
            num_digits=num_digits,
            timeout=_number(verb.get("timeout"), 5),
            finish_on_key=verb.get("finishOnKey", "#"),
            prompts=[child for child in verb if child.tag in ("Say", "Play", "Pause")],
        )
        call.activity = gathering
        self._gather_prompt(call, gathering)

    def _gather_prompt(self, call: FakeCall, gathering: _Gather) -> None:
        if gathering.prompts:
            prompt = gathering.prompts.pop(0)
            if prompt.tag == "Pause":
                length = _number(prompt.get("length"), 1)
            else:
                length = self._speak(
                    call, prompt, call.said if prompt.tag == "Say" else call.played
                )
            self._schedule_for(call, length, self._gather_prompt, call, gathering)
        else:
            self._schedule_for(call, gathering.timeout, self._gather_done, call, gathering, "")

    def _pressed(self, call: FakeCall, digit: str) -> None:
        if not call.live:
            return
        here = call.activity
        if isinstance(here, _Gather):
            call.generation += 1  # barge in: the prompt stops, the timeout starts again
            here.prompts = []
            if digit in here.finish_on_key:
                self._gather_done(call, here, digit)
                return
            here.digits += digit
            if here.num_digits and len(here.digits) >= here.num_digits:
                self._gather_done(call, here, "")
            else:
                self._schedule_for(call, here.timeout, self._gather_done, call, here, "")
        elif isinstance(here, _Record) and digit in here.finish_on_key:
            call.activity = None
            call.generation += 1
            self._finish_recording(call, here, digit)

    def _gather_done(self, call: FakeCall, gathering: _Gather, finished_on: str) -> None:
        call.activity = None
        call.generation += 1
        if not gathering.digits:
            self._step(call)  # nothing pressed: on to the next verb, as Twilio does
            return
        call.gathered.append((self.now, gathering.digits))
        extra = {"Digits": gathering.digits, "FinishedOnKey": finished_on}
        self._fetch_and_run(call, gathering.action, extra)

    def _verb_record(self, call: FakeCall, verb: ET.Element) -> None:
        action = urllib.parse.urljoin(call.document_url or "", verb.get("action") or "")
        recording = _Record(
            action=action or (call.document_url or ""),
            started_at=self.now,
            finish_on_key=verb.get("finishOnKey", "1234567890*#"),
        )
        call.activity = recording
        max_length = _number(verb.get("maxLength"), 3600)
        self._schedule_for(call, max_length, self._record_timeout, call, recording)

    def _record_timeout(self, call: FakeCall, recording: _Record) -> None:
        call.activity = None
        call.generation += 1
        self._finish_recording(call, recording, "")

    def _finish_recording(self, call: FakeCall, recording: _Record, digits: str) -> None:
        sid = _sid("RE", self.account_sid, "recording", next(self._ids))
        kept = {
            "sid": sid,
            "url": f"{self.base_url or ''}/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{sid}",
            "duration": int(self.now - recording.started_at),
            "started_at": recording.started_at,
        }
        call.recordings.append(kept)
        extra = {
            "RecordingUrl": kept["url"],
            "RecordingDuration": str(kept["duration"]),
            "RecordingSid": sid,
            "Digits": digits,
        }
        if call.live:
            self._fetch_and_run(call, recording.action, extra)
        else:  # hung up while recording: Twilio still posts the action, ignoring its answer
            self._send(recording.action, self._call_params(call, **extra), "action")


def _error(code: int, message: str, status: int) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _post(url: str, params: dict, signature: str) -> tuple[int, str]:
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(params).encode("utf-8"),
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
            "User-Agent": "TwilioProxy/1.1 (ringround fake)",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


CALLS = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Calls(?:/([^/]+))?\.json$")


def _handler_for(fake: FakeProvider):
    class Handler(BaseHTTPRequestHandler):
        server_version = "RingroundFakeProvider/1"

        def log_message(self, format, *args):  # quiet: the fake's own log is ``requests``
            return

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            params = _flat(urllib.parse.parse_qs(raw, keep_blank_values=True))
            entry = {
                "direction": "in",
                "kind": "api",
                "method": method,
                "url": self.path,
                "params": params,
                "t": fake.now,
                "status": None,
                "body": None,
            }
            fake.requests.append(entry)
            status, body = self._route(method, params)
            entry["status"], entry["body"] = status, body
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self, account: str) -> bool:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return False
            try:
                user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return (
                signatures_match(user, fake.account_sid)
                and signatures_match(password, fake.auth_token)
                and account == fake.account_sid
            )

        def _route(self, method: str, params: dict) -> tuple[int, dict]:
            path = urllib.parse.urlsplit(self.path).path
            if path.startswith("/_fake/"):
                if not self._authorised(fake.account_sid):
                    return 401, _error(20003, "Authenticate", 401)
                return _control(fake, method, path[len("/_fake/") :], params)
            match = CALLS.match(path)
            if not match:
                return 404, _error(20404, f"The requested resource {path} was not found", 404)
            account, sid = match.groups()
            if not self._authorised(account):
                return 401, _error(20003, "Authenticate", 401)
            with fake._lock:
                if sid is None:
                    if method != "POST":
                        return 405, _error(20004, "Method not allowed", 405)
                    return fake._api_create(params)
                call = fake._calls.get(sid)
                if call is None:
                    return 404, _error(20404, f"The requested resource {path} was not found", 404)
                if method == "GET":
                    return 200, fake._resource(call)
                return fake._api_update(call, params)

    return Handler


def _control(fake: FakeProvider, method: str, action: str, params: dict) -> tuple[int, dict]:
    """What a test or demo in another process may do to the fake: the people's side of a call
    (press, hang up, ring in), how numbers behave, and reading the calls back."""
    try:
        if method == "GET" and action == "calls":
            return 200, {"now": fake.now, "calls": [_summary(c) for c in fake.calls]}
        if method != "POST":
            return 405, _error(20004, "Method not allowed", 405)
        if action == "press":
            fake.press(params["CallSid"], params["Digits"])
        elif action == "hang_up":
            fake.hang_up(params["CallSid"])
        elif action == "ring_in":
            talk = params.get("TalkSeconds")
            sid = fake.ring_in(params["From"], params["To"], float(talk) if talk else None)
            return 201, {"sid": sid}
        elif action == "incoming":
            fake.set_incoming(params["Number"], params["VoiceUrl"], params.get("StatusUrl") or None)
        elif action == "behave":
            talk = params.get("TalkSeconds")
            behaviour = Behaviour(
                params.get("Answer", "human"),
                float(params.get("RingSeconds") or 5),
                float(talk) if talk else None,
            )
            fake.behave(params["Number"], behaviour)
        elif action == "advance":
            fake.advance(float(params.get("Seconds") or 0))
        else:
            return 404, _error(20404, f"no such control: {action}", 404)
    except KeyError as missing:
        return 400, _error(21000, f"missing or unknown: {missing.args[0]}", 400)
    except ValueError as error:
        return 400, _error(21000, str(error), 400)
    return 200, {"now": fake.now}


def _summary(call: FakeCall) -> dict:
    return {
        "sid": call.sid,
        "to": call.to,
        "from": call.from_,
        "direction": call.direction,
        "status": call.status,
        "parent_sid": call.parent_sid,
        "answered_by": call.answered_by,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "duration": call.duration,
        "conference": call.conference,
        "said": call.said,
        "gathered": call.gathered,
        "errors": call.errors,
    }


def main(argv: list[str] | None = None) -> None:
    """Run the fake alone for the demo: it prints its base URL, account sid and token."""
    parser = argparse.ArgumentParser(description="Ringround's local fake telephony provider")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--real-time", action="store_true", help="advance the clock by wall time")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument("--seed", type=int, default=None, help="random, reproducible behaviour")
    parser.add_argument("--answer-rate", type=float, default=0.2)
    parser.add_argument("--machine-share", type=float, default=0.25)
    parser.add_argument(
        "--answers",
        action="append",
        default=[],
        metavar="NUMBER",
        help="a number that always answers and stays (e.g. a volunteer's phone); repeatable",
    )
    parser.add_argument(
        "--incoming",
        action="append",
        default=[],
        metavar="NUMBER=VOICE_URL",
        help="one of the account's numbers and where its incoming calls fetch TwiML; repeatable",
    )
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=None)
    args = parser.parse_args(argv)
    token = args.auth_token or hashlib.sha256(f"{time.time_ns()}".encode()).hexdigest()[:32]
    fake = FakeProvider(args.account_sid, token, epoch=time.time())
    if args.seed is not None:
        fake.seeded(args.seed, args.answer_rate, args.machine_share)
    for number in args.answers:
        fake.behave(number, Behaviour("human", 3, None))
    for pair in args.incoming:
        number, _, voice_url = pair.partition("=")
        if not voice_url:
            parser.error(f"--incoming takes NUMBER=VOICE_URL, not {pair!r}")
        fake.set_incoming(number, voice_url)
    base_url = fake.start(port=args.port, host=args.host)
    if args.real_time:
        fake.run_in_real_time(speed=args.speed)
    print(f"base_url={base_url}")
    print(f"account_sid={fake.account_sid}")
    print(f"auth_token={fake.auth_token}")
    print(json.dumps({"base_url": base_url, "account_sid": fake.account_sid, "auth_token": token}))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
