"""The simulated volunteers: one asyncio task each, looping claim -> record outcome.

Two transports share the loop: ``HttpVolunteer`` speaks HTTP/1.1 with keep-alive over raw
asyncio streams to Ringround's API (no HTTP library: the load generator shares two cores with
the server and the database, so it must cost little), and ``DbVolunteer`` issues the same
claim + record transactions straight to PostgreSQL (the baseline).

A volunteer retries what the server says is retryable (503/429 with Retry-After, a dropped
connection) and always retries an outcome with the same idempotency key until it is
acknowledged, as a phone on a flaky line would; the acknowledged call ids are kept so the
database can be checked afterwards.
"""

import asyncio
import json
import random
import time
import uuid
from array import array
from collections import Counter

OUTCOMES = ["no_answer"] * 5 + ["answered"] * 3 + ["busy", "voicemail", "refused"]
RETRY_CAP_S = 3.0


class Stats:
    """What one run measured: latencies per call, cycles, errors by kind, acknowledged calls."""

    def __init__(self):
        self.latency = {"claim": array("d"), "outcome": array("d")}
        self.cycles = 0
        self.errors = Counter()
        self.acknowledged = []  # call ids (public_id over HTTP, id for the baseline)
        self.empty = 0
        self.measuring = False
        self.first_ok_after = {}  # fault name -> seconds until the next acknowledged cycle
        self.faults_at = {}
        self.ack_times = array("d")  # when each measured cycle completed (monotonic)

    def longest_gap(self) -> float:
        """The longest time with no cycle completed: how long service stopped, if it did."""
        times = sorted(self.ack_times)
        return max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)

    def note_cycle(self, now):
        if self.measuring:
            self.cycles += 1
            self.ack_times.append(now)
        for name, at in self.faults_at.items():
            if name not in self.first_ok_after and now > at:
                self.first_ok_after[name] = now - at


class Retry(Exception):
    def __init__(self, kind, wait=0.0):
        super().__init__(kind)
        self.kind, self.wait = kind, wait


class Refused(Exception):
    """A final answer the client cannot fix by retrying (a 4xx other than 429)."""


# --- HTTP ---------------------------------------------------------------------------------------


async def read_response(reader) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 response off a keep-alive connection: status, headers (lower-case bytes
    names) and body, whole (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0][9:12])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding", b"").lower() != b"chunked":
        return status, headers, await reader.readexactly(int(headers.get(b"content-length", b"0")))
    parts = []
    while size := int((await reader.readline()).split(b";")[0], 16):
        parts.append(await reader.readexactly(size))
        await reader.readline()
    await reader.readline()
    return status, headers, b"".join(parts)


class HttpConnection:
    def __init__(self, host, port, token):
        self.host, self.port = host, port
        self.head = (
            f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()
        self.reader = self.writer = None

    async def request(self, path: bytes, body: bytes = b"") -> tuple[int, dict, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(
            b"POST "
            + path
            + b" HTTP/1.1\r\n"
            + self.head
            + b"Content-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        status, headers, content = await read_response(self.reader)
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, headers, content

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class HttpVolunteer:
    def __init__(self, host, port, token, public_id):
        self.conn = HttpConnection(host, port, token)
        base = f"/api/v1/campaigns/{public_id}/"
        self.claim_path = (base + "claim").encode()
        self.outcome_path = (base + "outcomes").encode()

    async def _post(self, kind, path, body=b""):
        try:
            status, headers, content = await self.conn.request(path, body)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            self.conn.close()
            raise Retry(f"{kind}:{type(exc).__name__}", 0.2) from None
        if status in (503, 429, 502, 504):
            wait = float(headers.get(b"retry-after", b"1") or 1)
            raise Retry(f"{kind}:{status}", min(wait, RETRY_CAP_S))
        if status >= 500:
            raise Retry(f"{kind}:{status}", 0.5)
        return status, content

    async def claim(self):
        status, content = await self._post("claim", self.claim_path)
        if status == 204:
            return None
        if status != 200:
            raise Refused(f"claim:{status}")
        return json.loads(content)["lease_token"]

    async def record(self, lease, outcome, key):
        body = json.dumps(
            {"lease_token": lease, "outcome": outcome, "idempotency_key": key}
        ).encode()
        status, content = await self._post("outcome", self.outcome_path, body)
        if status not in (200, 201):
            raise Refused(f"outcome:{status}")
        return json.loads(content)["call_id"]

    def close(self):
        self.conn.close()


# --- straight to PostgreSQL (the baseline) -----------------------------------------------------

CLAIMABLE = """
        SELECT t.id FROM calling_calltarget t
         WHERE t.campaign_id = %(c)s AND {part}
           AND t.time_zone = ANY(%(zones)s) AND t.attempts < 3
           AND NOT EXISTS (SELECT 1 FROM contacts_suppression s WHERE s.phone = t.phone)
         ORDER BY t.priority DESC, t.next_call_at, t.id
         LIMIT 1 FOR UPDATE SKIP LOCKED"""
CLAIM_SQL = f"""
WITH claimed AS (
    UPDATE calling_calltarget
       SET state = 'assigned', held_by_id = %(v)s, leased_at = now(),
           lease_expires_at = now() + interval '10 minutes'
     WHERE id = COALESCE(
        ({CLAIMABLE.format(part="t.state = 'assigned' AND t.lease_expires_at <= now()")}),
        ({CLAIMABLE.format(part="t.state IN ('ready', 'waiting') AND t.next_call_at <= now()")}))
    RETURNING id, contact_id, leased_at
)
SELECT claimed.id, claimed.leased_at, c.first_name, c.last_name, c.phone, c.area
  FROM claimed JOIN contacts_contact c ON c.id = claimed.contact_id
"""
LOCK_SQL = "SELECT held_by_id, state, attempts FROM calling_calltarget WHERE id = %s FOR UPDATE"
INSERT_SQL = """
INSERT INTO calling_call (public_id, campaign_id, target_id, volunteer_id, outcome_id, answers,
                          notes, started_at, ended_at, idempotency_key, lease_lost)
VALUES (%s, %s, %s, %s, %s, '{}', '', %s, now(), %s, %s) RETURNING id
"""
FINISH_SQL = """
UPDATE calling_calltarget
   SET attempts = attempts + 1, last_outcome_id = %s, held_by_id = NULL,
       lease_expires_at = NULL, state = %s, next_call_at = now() + interval '4 hours'
 WHERE id = %s
"""


class DbVolunteer:
    """The same two transactions, from the same loop, with nothing in between."""

    def __init__(self, pool, volunteer_id, seed):
        self.pool, self.volunteer_id, self.seed = pool, volunteer_id, seed

    async def claim(self):
        conn = await self.pool.get()
        try:
            cur = await conn.execute(
                CLAIM_SQL,
                {
                    "v": self.volunteer_id,
                    "c": self.seed["campaign_id"],
                    "zones": self.seed["zones"],
                },
            )
            row = await cur.fetchone()
        except Exception as exc:
            raise Retry(f"claim:{type(exc).__name__}", 0.5) from None
        finally:
            self.pool.put_nowait(conn)
        return row

    async def record(self, lease, outcome, key):
        target_id, leased_at = lease[0], lease[1]
        conn = await self.pool.get()
        try:
            async with conn.transaction():
                cur = await conn.execute(LOCK_SQL, [target_id])
                held_by, state, attempts = await cur.fetchone()
                still_ours = held_by == self.volunteer_id and state == "assigned"
                cur = await conn.execute(
                    INSERT_SQL,
                    [
                        uuid.uuid4().hex[:12],
                        self.seed["campaign_id"],
                        target_id,
                        self.volunteer_id,
                        self.seed["outcomes"][outcome],
                        leased_at,
                        key,
                        not still_ours,
                    ],
                )
                call_id = (await cur.fetchone())[0]
                state = "done" if outcome in ("answered", "refused") else "waiting"
                await conn.execute(FINISH_SQL, [self.seed["outcomes"][outcome], state, target_id])
        except Exception as exc:
            raise Retry(f"outcome:{type(exc).__name__}", 0.5) from None
        finally:
            self.pool.put_nowait(conn)
        return call_id

    def close(self):
        pass


# --- the loop ------------------------------------------------------------------------------------


async def volunteer_loop(volunteer, stats: Stats, stop: asyncio.Event, grace_until):
    """claim -> record, no think time, until ``stop``; an outcome in hand is still delivered."""
    clock = time.perf_counter
    rng = random.Random()
    while not stop.is_set():
        started = clock()
        try:
            lease = await volunteer.claim()
        except Retry as exc:
            stats.errors[exc.kind] += 1
            await asyncio.sleep(exc.wait * (0.5 + rng.random()))
            continue
        except Refused as exc:
            stats.errors[str(exc)] += 1
            await asyncio.sleep(1)
            continue
        if stats.measuring:
            stats.latency["claim"].append(clock() - started)
        if lease is None:
            stats.empty += 1
            await asyncio.sleep(0.5)
            continue
        outcome, key = rng.choice(OUTCOMES), uuid.uuid4().hex
        while True:
            started = clock()
            try:
                call_id = await volunteer.record(lease, outcome, key)
            except Retry as exc:
                stats.errors[exc.kind] += 1
                if time.monotonic() > grace_until():
                    stats.errors["outcome:gave_up"] += 1
                    break
                await asyncio.sleep(exc.wait * (0.5 + rng.random()))
                continue
            except Refused as exc:
                stats.errors[str(exc)] += 1
                break
            if stats.measuring:
                stats.latency["outcome"].append(clock() - started)
            stats.acknowledged.append(call_id)
            stats.note_cycle(time.monotonic())
            break
    volunteer.close()
