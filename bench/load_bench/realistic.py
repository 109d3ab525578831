"""bench/load --realistic: volunteers as they really call, open loop.

Each simulated volunteer claims a contact, talks for a while (exponential, mean ``--talk``
seconds, 45 by default), records the outcome, pauses (exponential, mean ``--pause``, 10 s) and
claims the next: N volunteers offer about N / (talk + pause) cycles a second, whatever the
server does (they do not wait for each other; a slow answer delays only its own volunteer). Each
starts at a random point of its first cycle, so the claims arrive at the full rate from the
start; the first ``--warmup`` seconds (outcomes catching up) are not measured.

Requests go over a shared pool of keep-alive connections (``--connections``), as a proxy in
front would send them; the time a request waits for a free connection counts in its latency.
Printed for each N: the offered and achieved cycles per second, p50/p95/p99 of the claim and of
the outcome, errors, and the three counts that must be zero; then the highest N (and rate)
whose p99 of both calls stayed under ``--p99-goal-ms``.
"""

import asyncio
import json
import random
import time
import uuid
from array import array
from collections import Counter

from .client import OUTCOMES, RETRY_CAP_S, read_response

IDLE_SECONDS = 20  # as deploy/nginx.conf's keepalive_timeout: under the app server's 30 s


class Pool:
    """Keep-alive HTTP/1.1 connections to one server, lent one request at a time. Like the
    proxy in deploy/nginx.conf, a connection idle for IDLE_SECONDS is closed rather than
    reused, since the app server closes one idle for 30 s and a request sent meanwhile on it
    is lost (the dropped keep-alives of earlier runs)."""

    def __init__(self, host, port, size):
        self.host, self.port, self.size = host, port, size
        self.idle: list = []  # (connection, idle since)
        self.opened = 0
        self._free = asyncio.Condition()

    async def acquire(self):
        async with self._free:
            while not self.idle and self.opened >= self.size:
                await self._free.wait()
            while self.idle:
                conn, since = self.idle.pop()
                if time.monotonic() - since < IDLE_SECONDS:
                    return conn
                self.opened -= 1
                conn[1].close()
            self.opened += 1
        try:
            return await asyncio.open_connection(self.host, self.port)
        except OSError:
            async with self._free:
                self.opened -= 1
                self._free.notify()
            raise

    async def release(self, conn, broken=False):
        async with self._free:
            if broken:
                self.opened -= 1
                conn[1].close()
            else:
                self.idle.append((conn, time.monotonic()))
            self._free.notify()

    def close(self):
        for (_, writer), _ in self.idle:
            writer.close()
        self.idle.clear()


async def post(pool: Pool, path: bytes, token: bytes, body: bytes = b""):
    """One POST: (status, headers, body). Raises OSError (and friends) on a dropped
    connection; the connection is then discarded."""
    conn = await pool.acquire()
    reader, writer = conn
    try:
        writer.write(
            b"POST " + path + b" HTTP/1.1\r\nHost: " + pool.host.encode() + b"\r\n"
            b"Authorization: Bearer " + token + b"\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        status, headers, content = await read_response(reader)
    except BaseException:
        await pool.release(conn, broken=True)
        raise
    await pool.release(conn, broken=headers.get(b"connection", b"").lower() == b"close")
    return status, headers, content


class Stats:
    def __init__(self):
        self.latency = {"claim": array("d"), "outcome": array("d")}
        self.errors = Counter()
        self.acknowledged = []
        self.cycles = 0
        self.claims = 0
        self.empty = 0
        self.measuring = False


class Retry(Exception):
    def __init__(self, kind, wait):
        super().__init__(kind)
        self.kind, self.wait = kind, wait


async def call(pool, stats, kind, path, token, body=b""):
    """One call, its latency recorded when measuring (each attempt: a retried call is two)."""
    started = time.perf_counter()
    try:
        status, headers, content = await post(pool, path, token, body)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        stats.errors[f"{kind}:{type(exc).__name__}"] += 1
        raise Retry(kind, 0.5) from None
    if stats.measuring:
        stats.latency[kind].append(time.perf_counter() - started)
    if status in (429, 502, 503, 504):
        stats.errors[f"{kind}:{status}"] += 1
        wait = float(headers.get(b"retry-after", b"1") or 1)
        raise Retry(kind, min(wait, RETRY_CAP_S))
    if status >= 400:
        stats.errors[f"{kind}:{status}"] += 1
        raise Retry(kind, 1.0)
    return status, content


async def volunteer(pool, stats, stop, token: bytes, public_id, talk, pause, rng):
    base = f"/api/v1/campaigns/{public_id}/".encode()
    claim_path, outcome_path = base + b"claim", base + b"outcomes"
    await asyncio.sleep(rng.uniform(0, talk + pause))
    while not stop.is_set():
        try:
            status, content = await call(pool, stats, "claim", claim_path, token)
        except Retry as exc:
            await asyncio.sleep(exc.wait * (0.5 + rng.random()))
            continue
        if status == 204:
            stats.empty += 1
            await asyncio.sleep(pause)
            continue
        if stats.measuring:
            stats.claims += 1
        lease = json.loads(content)["lease_token"]
        await asyncio.sleep(rng.expovariate(1 / talk))
        body = json.dumps(
            {
                "lease_token": lease,
                "outcome": rng.choice(OUTCOMES),
                "idempotency_key": uuid.uuid4().hex,
            }
        ).encode()
        while True:  # retried with the same key until acknowledged
            try:
                _, content = await call(pool, stats, "outcome", outcome_path, token, body)
                break
            except Retry as exc:
                await asyncio.sleep(exc.wait * (0.5 + rng.random()))
        stats.acknowledged.append(json.loads(content)["call_id"])
        if stats.measuring:
            stats.cycles += 1
        await asyncio.sleep(rng.expovariate(1 / pause))


async def run(args, seed, tokens, n) -> tuple[Stats, float, float]:
    """N volunteers for warmup + seconds; then every outcome in hand is delivered."""
    pool = Pool("127.0.0.1", args.port, args.connections)
    stats, stop = Stats(), asyncio.Event()
    rng = random.Random(n)
    tasks = [
        asyncio.create_task(
            volunteer(
                pool,
                stats,
                stop,
                tokens[i].encode(),
                seed["public_id"],
                args.talk,
                args.pause,
                rng,
            )
        )
        for i in range(n)
    ]
    await asyncio.sleep(args.warmup)
    stats.measuring = True
    cpu0, t0 = time.process_time(), time.monotonic()
    await asyncio.sleep(args.seconds)
    stats.measuring = False
    measured, cpu = time.monotonic() - t0, time.process_time() - cpu0
    stop.set()
    # Then everyone hangs up. A volunteer still talking never records that call (its lease
    # runs out on the server); an outcome cut off in flight is not counted as acknowledged,
    # so the checks stay exact: only acknowledged calls must be stored, once.
    await asyncio.sleep(1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    pool.close()
    return stats, measured, 100 * cpu / measured
