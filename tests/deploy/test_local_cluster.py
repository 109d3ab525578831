"""The deployment past one machine, run on this one: deploy/local-cluster starts the services
of deploy/compose.yaml (two app servers, PgBouncer, a primary and a synchronous standby, Redis,
the task worker) and calls go through both app servers.

What must hold: calls through both servers never hand one contact to two volunteers; a rate
limit holds across servers; a report reads from the standby while it is within the lag bound
and from the primary past it; a promoted standby takes over with no acknowledged call lost.

Needs PostgreSQL 15's binaries and PgBouncer (installed by deploy/local-cluster --install, or
by this test when run as root); without PgBouncer it is skipped, except under CI=true, where
that is a failure. Runs in the PostgreSQL half of the suite. The tests run in file order (the
suite runs with -p no:randomly): the fail-over comes last."""

import http.client
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
LAG_BOUND_S = 4
pytestmark = pytest.mark.postgres_only


def load_launcher():
    spec = importlib.util.spec_from_file_location(
        "local_cluster", ROOT / "deploy" / "local_cluster.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cluster():
    if connection.vendor != "postgresql":
        pytest.skip("the local cluster test runs in the PostgreSQL pass")
    launcher = load_launcher()
    found = launcher.install_pgbouncer()
    if not found:
        message = "PgBouncer is not installed and could not be (apt-get install pgbouncer)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    running = launcher.LocalCluster(
        base_port=5450,
        app_port=8450,
        overrides={"RINGROUND_STANDBY_MAX_LAG_SECONDS": str(LAG_BOUND_S)},
        log=lambda *_: None,
    )
    running.start()
    try:
        seeded = subprocess.run(
            [sys.executable, "-m", "tests.deploy.seed_cluster"],
            env=running.app_env("app1"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert seeded.returncode == 0, seeded.stderr
        running.seed = json.loads(seeded.stdout.strip().splitlines()[-1])
        yield running
    finally:
        running.stop()


# --- a volunteer's phone, talking to one app server or the other ----------------------------


class Phone:
    """One volunteer's API client: each request goes to the next app server in turn, and what
    the server says is retryable (503, a dropped connection) is retried, an outcome always
    with the same idempotency key, as the real app does."""

    def __init__(self, cluster, token, public_id):
        self.servers = [cluster.ports["app1"], cluster.ports["app2"]]
        self.conns = [None, None]
        self.turn = 0
        self.head = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.base = f"/api/v1/campaigns/{public_id}"
        self.used = set()

    def request(self, method, path, body=None, which=None) -> tuple[int, dict | None, int]:
        """(status, JSON body, the server's port), from the next server in turn or server
        ``which`` (0 or 1); raises OSError on a dropped connection."""
        if which is None:
            which = self.turn % 2
            self.turn += 1
        if self.conns[which] is None:
            self.conns[which] = http.client.HTTPConnection(
                "127.0.0.1", self.servers[which], timeout=30
            )
        conn = self.conns[which]
        try:
            conn.request(
                method, self.base + path, body=json.dumps(body) if body else None, headers=self.head
            )
            response = conn.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            self.conns[which] = None
            raise OSError(str(exc)) from exc
        self.used.add(self.servers[which])
        try:
            data = json.loads(content) if content else None
        except ValueError:
            # Not the API's JSON: a proxy's or server's own page while the database moves
            # (the status says whether to retry); kept as text for the assertion's message.
            data = content.decode(errors="replace")[:300]
        return response.status, data, self.servers[which]

    def retrying(self, method, path, body=None, deadline=None):
        deadline = deadline or time.monotonic() + 60
        while True:
            try:
                status, data, _ = self.request(method, path, body)
            except OSError:
                status, data = None, None
            if status not in (None, 502, 503, 504):
                return status, data
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {path}: no answer but {status} until the deadline")
            time.sleep(0.2)

    def call_once(self, outcome="answered"):
        """Claim, then record: (the contact's phone, the acknowledged call id), or None when
        nobody is left to call."""
        status, lease = self.retrying("POST", "/claim")
        if status == 204:
            return None
        assert status == 200, (status, lease)
        key = uuid.uuid4().hex
        status, call = self.retrying(
            "POST",
            "/outcomes",
            {"lease_token": lease["lease_token"], "outcome": outcome, "idempotency_key": key},
        )
        assert status in (200, 201), (status, call)
        return lease["contact"]["phone"], call["call_id"]


def database_facts(url, public_id):
    """Calls of the campaign as stored: their ids, and the contacts called more than once."""
    with psycopg.connect(url) as conn:
        stored = [
            row[0]
            for row in conn.execute(
                """SELECT c.public_id FROM calling_call c JOIN campaigns_campaign k
                     ON k.id = c.campaign_id WHERE k.public_id = %s""",
                [public_id],
            )
        ]
        twice = conn.execute(
            """SELECT count(*) FROM (SELECT c.target_id FROM calling_call c
                 JOIN campaigns_campaign k ON k.id = c.campaign_id WHERE k.public_id = %s
                 GROUP BY c.target_id HAVING count(*) > 1) d""",
            [public_id],
        ).fetchone()[0]
    return stored, twice


def run_phones(cluster, tokens, cycles=None, until=None):
    """Each token's phone calls in its own thread: ``cycles`` calls each, or until ``until()``
    is true. Returns each phone's (phone number, call id, when) acknowledgements."""
    seeded = cluster.seed
    results = [[] for _ in tokens]
    errors = []

    def work(index, token):
        phone = Phone(cluster, token, seeded["calling"])
        try:
            n = 0
            while (cycles is None or n < cycles) and not (until and until()):
                done = phone.call_once()
                if done is None:
                    break
                results[index].append((*done, time.monotonic()))
                n += 1
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i, t)) for i, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    return threads, results, errors


# --- the tests ----------------------------------------------------------------------------


def test_calls_through_both_app_servers_never_hand_a_contact_to_two_volunteers(cluster):
    threads, results, errors = run_phones(cluster, cluster.seed["volunteers"][:12], cycles=8)
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    acknowledged = [item for result in results for item in result]
    assert len(acknowledged) == 12 * 8
    phones = [number for number, _, _ in acknowledged]
    assert len(set(phones)) == len(phones), "a contact was handed to two volunteers"
    stored, twice = database_facts(cluster.url("primary"), cluster.seed["calling"])
    assert twice == 0
    assert {call for _, call, _ in acknowledged} <= set(stored)


def test_a_rate_limit_holds_across_app_servers(cluster):
    """A new volunteer may be given 20 contacts an hour (RINGROUND_NEW_VOLUNTEER_CLAIMS),
    however their requests are spread over the servers."""
    phone = Phone(cluster, cluster.seed["newcomer"], cluster.seed["calling"])
    answers = []
    for n in range(24):
        status, _, server = phone.request("POST", "/claim", which=n % 2)
        answers.append((status, server))
        if status == 200:
            assert phone.request("POST", "/release", which=(n + 1) % 2)[0] == 200
    assert [status for status, _ in answers] == [200] * 20 + [429] * 4
    assert {server for _, server in answers[:20]} == set(phone.servers)
    assert {server for _, server in answers[20:]} == set(phone.servers)


def caught_up(cluster):
    """Commit something on the primary and wait until the standby has replayed it."""
    with psycopg.connect(cluster.url("primary", "postgres"), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS cluster_tick (at timestamptz)")
        conn.execute("INSERT INTO cluster_tick VALUES (now())")
        lsn = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + 30
    with psycopg.connect(cluster.url("standby", "postgres"), autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]).fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the standby did not catch up")


def test_a_report_reads_the_standby_within_the_lag_bound_and_the_primary_past_it(cluster):
    seeded = cluster.seed
    volunteer = Phone(cluster, seeded["reporter"], seeded["report"])
    organiser = Phone(cluster, seeded["organiser"], seeded["report"])
    caught_up(cluster)
    cluster.pause_standby_replay(True)
    try:
        paused_at = time.monotonic()
        assert volunteer.call_once() is not None  # stored on the primary, not replayed yet
        status, stats, _ = organiser.request("GET", "/stats")
        assert status == 200
        assert time.monotonic() - paused_at < LAG_BOUND_S, "too slow to test the bound"
        assert stats["calls"] == 0, "the report did not read the standby"

        # Past the bound (and the figures' 5 s cache), the same report reads the primary.
        time.sleep(max(LAG_BOUND_S, 5) + 1.5)
        status, stats, _ = organiser.request("GET", "/stats")
        assert status == 200
        assert stats["calls"] == 1, "a standby past the lag bound was still read"
    finally:
        cluster.pause_standby_replay(False)


WHERE_REPORTS_READ = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ringround.settings")
django.setup()
from ringround import standby
print(standby.reporting_database(), standby.reporting_database(consistent=True))
"""


def where_reports_read(cluster) -> list[str]:
    """Where an app process of the cluster would send a report's reads now, and an export's
    (a generous lag bound: only the export's own condition is tested here)."""
    env = {**cluster.app_env("app1"), "RINGROUND_STANDBY_MAX_LAG_SECONDS": "600"}
    done = subprocess.run(
        [sys.executable, "-c", WHERE_REPORTS_READ], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_an_export_reads_the_standby_only_once_it_has_all_the_primary_had(cluster):
    """An export of personal data made after an erasure must not read a standby that has not
    replayed the erasure yet: it reads the standby only once that has replayed everything the
    primary had committed when the export began."""
    caught_up(cluster)
    cluster.pause_standby_replay(True)
    try:
        with psycopg.connect(cluster.url("primary", "postgres"), autocommit=True) as conn:
            conn.execute("INSERT INTO cluster_tick VALUES (now())")  # the erasure, say
        assert where_reports_read(cluster) == ["standby", "default"]
    finally:
        cluster.pause_standby_replay(False)
    assert where_reports_read(cluster) == ["standby", "standby"]


def process_facts(pid) -> tuple[list[str], dict]:
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
    return cmdline, dict(item.split("=", 1) for item in raw if "=" in item)


def test_each_service_runs_with_the_command_and_environment_of_compose_yaml(cluster):
    for name in ("app1", "app2", "worker"):
        cmdline, environ = process_facts(cluster.processes[name].pid)
        command, environment = cluster.spec(name)
        assert cmdline[-len(command) + 1 :] == command[1:], name
        assert Path(cmdline[-len(command)]).name == Path(command[0]).name, name
        assert environment.items() <= environ.items(), name
    # redis-server rewrites its process title: what it was started with, and what it runs with.
    command, _ = cluster.spec("redis")
    assert cluster.processes["redis"].args == command
    import redis

    live = redis.Redis(port=cluster.ports["redis"]).config_get("maxmemory-policy")
    assert live["maxmemory-policy"] == command[command.index("--maxmemory-policy") + 1]
    for name in ("primary", "standby"):
        cmdline, _ = process_facts(cluster.processes[name].pid)
        flags = load_launcher().postgres_flags(cluster.spec(name)[0])
        assert cmdline[5 : 5 + len(flags)] == flags, name  # after -D DIR -p PORT


def test_a_promoted_standby_takes_over_with_no_acknowledged_call_lost(cluster):
    failed_over_at = []

    def enough():
        return failed_over_at and time.monotonic() > failed_over_at[0] + 6

    threads, results, errors = run_phones(cluster, cluster.seed["volunteers"][12:16], until=enough)
    time.sleep(3)
    before = sum(len(r) for r in results)
    cluster.fail_over()
    failed_over_at.append(time.monotonic())
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, (errors, cluster.tail("app1", 60), cluster.tail("app2", 60))
    acknowledged = [item for result in results for item in result]
    after = [item for item in acknowledged if item[2] > failed_over_at[0]]
    assert before > 0 and after, (before, len(after))

    # The promoted standby is the primary now: every acknowledged call is on it, once.
    stored, twice = database_facts(cluster.url("standby"), cluster.seed["calling"])
    assert twice == 0
    missing = {call for _, call, _ in acknowledged} - set(stored)
    assert not missing, f"{len(missing)} acknowledged calls lost"
    phones = [number for number, _, _ in acknowledged]
    assert len(set(phones)) == len(phones)
