"""bench/load's conductor: database, seed, server, the runs for each N, the checks, the report."""

import argparse
import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import psycopg

from . import checks, front, realistic
from . import pooler as pooler_mod
from .client import DbVolunteer, HttpVolunteer, Stats, volunteer_loop

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
GRACE_S = 15


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", default=None, help="volunteer counts, comma-separated")
    p.add_argument("--seconds", type=float, default=None, help="measured time per run")
    p.add_argument("--warmup", type=float, default=None, help="unmeasured start of each run")
    p.add_argument("--targets", type=int, default=None)
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL")
    p.add_argument("--db", default="ringround_load", help="database to (re)create")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--server", default=None, help="granian or gunicorn (default: serve's, granian)")
    p.add_argument("--workers", type=int, default=None, help="app worker processes")
    p.add_argument("--threads", type=int, default=None, help="threads per app worker")
    p.add_argument("--baseline-conns", type=int, default=16, help="baseline's connections")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--faults", action="store_true", help="restart PostgreSQL, kill a worker")
    p.add_argument(
        "--front",
        choices=["nginx"],
        default=None,
        help="clients talk to nginx set up as deploy/nginx.conf, on --port + 1",
    )
    p.add_argument(
        "--cluster",
        default="15 main",
        help="the pg_ctlcluster VERSION NAME that --faults restarts (use a cluster of its own "
        "on a shared machine: others' connections to it are cut too)",
    )
    p.add_argument(
        "--realistic",
        action="store_true",
        help="open loop with think time (load_bench/realistic.py): N = 5000, 20000, 40000",
    )
    p.add_argument("--talk", type=float, default=45, help="--realistic: mean seconds talking")
    p.add_argument("--pause", type=float, default=10, help="--realistic: mean seconds between")
    p.add_argument("--connections", type=int, default=256, help="--realistic: client pool")
    p.add_argument("--p99-goal-ms", type=float, default=100)
    p.add_argument(
        "--saturation-n",
        type=int,
        default=500,
        help="--realistic: the closed-loop run (no think time) compared with the baseline",
    )
    p.add_argument(
        "--pooler",
        choices=["session", "transaction"],
        default=None,
        help="PgBouncer (deploy/pgbouncer.ini) between the server and PostgreSQL; "
        "transaction pooling turns prepared statements off",
    )
    p.add_argument("--reuse", action="store_true", help="keep the seeded database if present")
    p.add_argument("--profile", default=None, help="py-spy a worker during each run into DIR")
    args = p.parse_args()
    defaults = (
        {"n": "5000,20000,40000", "seconds": 60, "warmup": 60, "targets": 400_000}
        if args.realistic
        else {"n": "100,500,2000", "seconds": 20, "warmup": 3, "targets": 200_000}
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


# --- processes and their CPU ----------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid) -> float:
    """CPU time of a process and of its children that have exited (and been waited for)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / TICKS
    except (OSError, IndexError):
        return 0.0


def children(pid) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def tree_cpu_seconds(pid) -> float:
    """A process tree's CPU time, counting processes that ended meanwhile (a PostgreSQL
    backend whose connection closed, a killed app worker): their time is in the parent's."""
    return cpu_seconds(pid) + sum(tree_cpu_seconds(child) for child in children(pid))


def postmaster_pid(url) -> int | None:
    """The benchmark's PostgreSQL cluster's postmaster (not another cluster's)."""
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        with open(f"/proc/{backend}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (psycopg.Error, OSError):
        return None


class CpuMeter:
    """CPU seconds of the server's processes and PostgreSQL's between start() and stop()."""

    def __init__(self, server_pid, url):
        self.server_pid, self.url = server_pid, url

    def _sample(self):
        postmaster = postmaster_pid(self.url)
        return (
            tree_cpu_seconds(self.server_pid) if self.server_pid else 0.0,
            tree_cpu_seconds(postmaster) if postmaster else 0.0,
        )

    def start(self):
        self.before, self.t0 = self._sample(), time.monotonic()

    def stop(self) -> dict:
        after, elapsed = self._sample(), time.monotonic() - self.t0

        def pct(i):
            spent = after[i] - self.before[i]
            return round(100 * spent / elapsed) if spent >= 0 else None  # restarted meanwhile

        return {"server_cpu_pct": pct(0), "db_cpu_pct": pct(1)}


def start_server(args, env) -> subprocess.Popen:
    cmd = [os.path.join(VENV_BIN, "ringround"), "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(args.port)]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.server:
        cmd += ["--server", args.server]
    server = subprocess.Popen(cmd, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{args.port}/api/v1/health", timeout=2):
                time.sleep(1)  # let every worker finish booting
                return server
        except OSError:
            if server.poll() is not None:
                sys.exit(f"the server exited with {server.returncode}")
            time.sleep(0.2)
    stop_server(server)
    sys.exit("the server did not answer within 60 s")


def stop_server(server):
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def start_profile(args, server, n):
    """py-spy one worker for the measured part of the run (collapsed stacks, for flamegraphs
    or for bench/load_bench/stacks.py to total by function)."""
    if not args.profile:
        return None
    os.makedirs(args.profile, exist_ok=True)
    workers = worker_pids(server)
    out = os.path.join(args.profile, f"worker-n{n}.txt")
    return subprocess.Popen(
        [
            os.path.join(VENV_BIN, "py-spy"),
            "record",
            "--format",
            "raw",
            "--nonblocking",
            "--rate",
            "250",
            "--duration",
            str(int(args.warmup + args.seconds)),
            "--pid",
            str(workers[0]),
            "--output",
            out,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def worker_pids(server) -> list[int]:
    """The processes answering requests (granian's or gunicorn's workers), not the import
    task worker that ``serve`` may start beside them."""
    found = []
    for pid in children(server.pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"task_worker" in f.read():
                    continue
        except OSError:
            continue
        found.append(pid)
    return found


# --- database ------------------------------------------------------------------------------------


def database_url(args):
    return f"{args.pg}/{args.db}"


def prepare_database(args, env, tokens_file) -> dict:
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db]).fetchone()
        seed_file = os.path.join(tempfile.gettempdir(), f"{args.db}.seed.json")
        if exists and args.reuse and os.path.exists(seed_file) and os.path.exists(tokens_file):
            with open(seed_file) as f:
                return json.load(f)
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.db}"')
    out = subprocess.run(
        [
            os.path.join(VENV_BIN, "python"),
            os.path.join(os.path.dirname(__file__), "seed.py"),
            "--targets",
            str(args.targets),
            "--volunteers",
            str(max(2000, *(int(n) for n in args.n.split(",")))),
            "--tokens-file",
            tokens_file,
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    seed = json.loads(out.stdout.strip().splitlines()[-1])
    with open(seed_file, "w") as f:
        json.dump(seed, f)
    return seed


def vacuum(args):
    with psycopg.connect(database_url(args), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE calling_calltarget, calling_call, audit_auditevent")


# --- one run ---------------------------------------------------------------------------------------


def percentile(values, q) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run(volunteers, args, faults=None) -> tuple[Stats, float, float]:
    """Run the loops for warmup + seconds; returns stats, measured seconds and own CPU %."""
    stats, stop = Stats(), asyncio.Event()
    deadline = {"grace": float("inf")}
    tasks = [
        asyncio.create_task(volunteer_loop(v, stats, stop, lambda: deadline["grace"]))
        for v in volunteers
    ]
    await asyncio.sleep(args.warmup)
    stats.measuring = True
    cpu0, t0 = time.process_time(), time.monotonic()
    stats.t0 = t0
    if faults:
        await faults(stats, t0)
    remaining = args.seconds - (time.monotonic() - t0)
    if remaining > 0:
        await asyncio.sleep(remaining)
    stats.measuring = False
    measured, cpu = time.monotonic() - t0, time.process_time() - cpu0
    stop.set()
    deadline["grace"] = time.monotonic() + GRACE_S
    await asyncio.wait(tasks, timeout=GRACE_S + 5)
    for task in tasks:
        task.cancel()
    return stats, measured, 100 * cpu / measured


def make_faults(args, server):
    async def faults(stats, t0):
        third = args.seconds / 3
        await asyncio.sleep(third)
        stats.faults_at["db_restart"] = time.monotonic()
        restart = await asyncio.to_thread(
            subprocess.run,
            ["pg_ctlcluster", "--skip-systemctl-redirect", *args.cluster.split(), "restart"]
            + ["-m", "fast"],
            capture_output=True,
            text=True,
        )
        if restart.returncode:
            print(f"PostgreSQL restart failed: {restart.stderr or restart.stdout}", flush=True)
        stats.faults_at["db_back"] = time.monotonic()
        await asyncio.sleep(max(0.0, t0 + 2 * third - time.monotonic()))
        workers = worker_pids(server)
        if workers:
            stats.faults_at["worker_kill"] = time.monotonic()
            os.kill(workers[0], signal.SIGKILL)

    return faults


async def http_run(args, seed, tokens, n, server, faults):
    port = args.port + 1 if args.front else args.port
    volunteers = [HttpVolunteer("127.0.0.1", port, tokens[i], seed["public_id"]) for i in range(n)]
    return await run(volunteers, args, make_faults(args, server) if faults else None)


async def baseline_run(args, seed, n):
    """The baseline's run, and PostgreSQL's CPU % during it (read before its connections
    close, since a closed backend's CPU can no longer be read)."""
    meter = CpuMeter(None, database_url(args))
    pool = asyncio.Queue()
    conns = [
        await psycopg.AsyncConnection.connect(database_url(args), autocommit=True)
        for _ in range(min(args.baseline_conns, n))
    ]
    for conn in conns:
        pool.put_nowait(conn)
    volunteers = [DbVolunteer(pool, seed["volunteer_ids"][i], seed) for i in range(n)]
    try:
        meter.start()
        result = await run(volunteers, args)
        return *result, meter.stop()["db_cpu_pct"]
    finally:
        for conn in conns:
            await conn.close()


def summarise(n, stats, measured, cpu_pct, found, baseline=None, extra=None) -> dict:
    lat = stats.latency
    both = list(lat["claim"]) + list(lat["outcome"])
    line = {
        "n": n,
        "cycles_per_s": round(stats.cycles / measured, 1),
        "p50_ms": round(percentile(both, 0.50), 1),
        "p95_ms": round(percentile(both, 0.95), 1),
        "p99_ms": round(percentile(both, 0.99), 1),
        "claim_p50_ms": round(percentile(lat["claim"], 0.50), 1),
        "claim_p95_ms": round(percentile(lat["claim"], 0.95), 1),
        "claim_p99_ms": round(percentile(lat["claim"], 0.99), 1),
        "outcome_p50_ms": round(percentile(lat["outcome"], 0.50), 1),
        "outcome_p95_ms": round(percentile(lat["outcome"], 0.95), 1),
        "outcome_p99_ms": round(percentile(lat["outcome"], 0.99), 1),
        **found,
        "errors": dict(sorted(stats.errors.items())),
        "loadgen_cpu_pct": round(cpu_pct),
    }
    if baseline is not None:
        line["baseline_cycles_per_s"] = baseline
        line["ratio"] = round(line["cycles_per_s"] / baseline, 2) if baseline else None
    if extra:
        line.update(extra)
        for part in ("server", "db"):
            pct = line.get(f"{part}_cpu_pct")
            if line["cycles_per_s"] and pct is not None:
                line[f"{part}_cpu_ms_per_cycle"] = round(10 * pct / line["cycles_per_s"], 2)
    return line


def report(label, line):
    print(
        f"\n{label} N={line['n']}: {line['cycles_per_s']} cycles/s; "
        f"claim p50/p95/p99 {line['claim_p50_ms']}/{line['claim_p95_ms']}/"
        f"{line['claim_p99_ms']} ms; outcome p50/p95/p99 {line['outcome_p50_ms']}/"
        f"{line['outcome_p95_ms']}/{line['outcome_p99_ms']} ms",
        flush=True,
    )
    print(
        f"  double-assigned {line['double_assigned']}, lost {line['lost']}, duplicated "
        f"{line['duplicated']}; errors {line['errors'] or 'none'}; load generator "
        f"{line['loadgen_cpu_pct']}% of a core",
        flush=True,
    )


def main():
    args = parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    tokens_file = os.path.join(tempfile.gettempdir(), f"{args.db}.tokens.json")
    data_dir = tempfile.mkdtemp(prefix="ringround-load-")
    env = {
        **os.environ,
        "DATABASE_URL": database_url(args),
        "RINGROUND_DATA": data_dir,
        "SECRET_KEY": "bench-load-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "ERROR",
        "RINGROUND_TASK_WORKER": "0",  # the calling loop only: no import worker beside it
    }
    env.pop("DEBUG", None)
    t = time.monotonic()
    seed = prepare_database(args, env, tokens_file)
    with open(tokens_file) as f:
        tokens = json.load(f)
    print(
        f"database {args.db}: {args.targets} targets, {len(tokens)} volunteers with API tokens "
        f"(migrate {seed.get('migrate_s')} s, seed {seed.get('seed_s')} s, total "
        f"{time.monotonic() - t:.1f} s)",
        flush=True,
    )
    pooler = None
    if args.pooler:
        pooler = pooler_mod.start(args.pg, args.db, args.port + 20, args.pooler)
        env["DATABASE_URL"] = pooler[1]
        env["RINGROUND_TRANSACTION_POOLER"] = "true" if args.pooler == "transaction" else "false"
        print(f"PgBouncer ({args.pooler} pooling) on {args.port + 20}", flush=True)
    if args.realistic:
        try:
            return realistic_main(args, env, seed, tokens_file)
        finally:
            if pooler:
                pooler_mod.stop(pooler[0], pooler[2])

    server = start_server(args, env)
    proxy = front.start_nginx(args.port + 1, args.port)[0] if args.front else None
    lines = []
    try:
        for n in (int(x) for x in args.n.split(",")):
            vacuum(args)
            since = checks.mark(database_url(args))
            meter = CpuMeter(server.pid, database_url(args))
            meter.start()
            spy = start_profile(args, server, n)
            stats, measured, cpu = asyncio.run(http_run(args, seed, tokens, n, server, args.faults))
            cpu_split = meter.stop()
            if spy is not None:
                spy.wait()
            if server.poll() is not None:
                sys.exit("the server died")
            found = checks.verify(database_url(args), seed, since, stats.acknowledged, "public_id")
            extra = {
                "server": args.server or "default",
                "front": args.front,
                **cpu_split,
                "empty_claims": stats.empty,
            }
            if args.faults:
                extra["recovery_s"] = {k: round(v, 2) for k, v in stats.first_ok_after.items()}
                extra["longest_stall_s"] = round(stats.longest_gap(), 2)
                extra["fault_times_s"] = {
                    k: round(v - stats.t0, 1) for k, v in stats.faults_at.items()
                }
            baseline = None
            if not args.no_baseline and not args.faults:
                vacuum(args)
                b_since = checks.mark(database_url(args))
                b_stats, b_measured, b_cpu, b_db_pct = asyncio.run(baseline_run(args, seed, n))
                b_found = checks.verify(
                    database_url(args), seed, b_since, b_stats.acknowledged, "id"
                )
                baseline = round(b_stats.cycles / b_measured, 1)
                report("baseline", summarise(n, b_stats, b_measured, b_cpu, b_found))
                extra["baseline_db_cpu_ms_per_cycle"] = round(10 * b_db_pct / baseline, 2)
            line = summarise(n, stats, measured, cpu, found, baseline, extra)
            report("ringround", line)
            print(json.dumps(line), flush=True)
            lines.append(line)
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(timeout=10)
        stop_server(server)
        if pooler:
            pooler_mod.stop(pooler[0], pooler[2])
    bad = [
        line["n"] for line in lines if line["double_assigned"] or line["lost"] or line["duplicated"]
    ]
    if bad:
        sys.exit(f"the calling invariants broke at N = {bad}")


# --- --realistic ---------------------------------------------------------------------------------


def realistic_main(args, env, seed, tokens_file):
    """The open-loop runs for each N, then the closed-loop saturation run against the
    baseline, then the highest N held under the p99 goal. The last line is one JSON object."""
    import copy

    with open(tokens_file) as f:
        tokens = json.load(f)
    ns = [int(x) for x in args.n.split(",")]
    if max(ns) > len(tokens):
        sys.exit(f"only {len(tokens)} volunteers seeded: drop --reuse")
    server = start_server(args, env)
    lines = []
    try:
        for n in ns:
            vacuum(args)
            since = checks.mark(database_url(args))
            meter = CpuMeter(server.pid, database_url(args))
            meter.start()
            stats, measured, cpu = asyncio.run(realistic.run(args, seed, tokens, n))
            cpu_split = meter.stop()
            if server.poll() is not None:
                sys.exit("the server died")
            found = checks.verify(database_url(args), seed, since, stats.acknowledged, "public_id")
            offered = n / (args.talk + args.pause)
            line = summarise(n, stats, measured, cpu, found, extra=cpu_split)
            line.update(
                mode="realistic",
                offered_cycles_per_s=round(offered, 1),
                claims_per_s=round(stats.claims / measured, 1),
                empty_claims=stats.empty,
                # Held: both calls' p99 under the goal, no errors, and the offered rate served.
                held=line["claim_p99_ms"] < args.p99_goal_ms
                and line["outcome_p99_ms"] < args.p99_goal_ms
                and not stats.errors
                and stats.cycles / measured >= 0.9 * offered,
                pooler=args.pooler,
                load_avg_1m=round(os.getloadavg()[0], 2),
            )
            report("realistic", line)
            print(
                f"  offered {line['offered_cycles_per_s']} cycles/s, achieved "
                f"{line['cycles_per_s']}; p99 under {args.p99_goal_ms:g} ms: "
                f"{'yes' if line['held'] else 'NO'}",
                flush=True,
            )
            print(json.dumps(line), flush=True)
            lines.append(line)

        saturation = copy.copy(args)
        saturation.seconds, saturation.warmup = 20, 3
        n = args.saturation_n
        vacuum(args)
        since = checks.mark(database_url(args))
        stats, measured, cpu = asyncio.run(http_run(saturation, seed, tokens, n, server, False))
        found = checks.verify(database_url(args), seed, since, stats.acknowledged, "public_id")
        vacuum(args)
        b_since = checks.mark(database_url(args))
        b_stats, b_measured, b_cpu, _ = asyncio.run(baseline_run(saturation, seed, n))
        b_found = checks.verify(database_url(args), seed, b_since, b_stats.acknowledged, "id")
        baseline = round(b_stats.cycles / b_measured, 1)
        report("baseline", summarise(n, b_stats, b_measured, b_cpu, b_found))
        sat = summarise(n, stats, measured, cpu, found, baseline)
        report("saturation", sat)
        print(f"  saturation ratio to the baseline: {sat['ratio']}", flush=True)
    finally:
        stop_server(server)

    held = [line for line in lines if line["held"]]
    best = max(held, key=lambda line: line["n"]) if held else None
    bad = [
        line["n"]
        for line in [*lines, sat]
        if line["double_assigned"] or line["lost"] or line["duplicated"]
    ]
    summary = {
        "realistic": [
            {
                k: line[k]
                for k in (
                    "n",
                    "offered_cycles_per_s",
                    "cycles_per_s",
                    "claim_p50_ms",
                    "claim_p95_ms",
                    "claim_p99_ms",
                    "outcome_p50_ms",
                    "outcome_p95_ms",
                    "outcome_p99_ms",
                    "double_assigned",
                    "lost",
                    "duplicated",
                    "held",
                    "load_avg_1m",
                )
            }
            for line in lines
        ],
        "p99_goal_ms": args.p99_goal_ms,
        "highest_n_held": best["n"] if best else None,
        "highest_rate_held_cycles_per_s": best["cycles_per_s"] if best else None,
        "highest_n_tested_all_held": len(held) == len(lines),
        "saturation_n": n,
        "saturation_cycles_per_s": sat["cycles_per_s"],
        "baseline_cycles_per_s": baseline,
        "saturation_ratio": sat["ratio"],
        "pooler": args.pooler,
        "server": args.server or "default",
    }
    print(
        f"\nhighest N held with p99 < {args.p99_goal_ms:g} ms: "
        f"{summary['highest_n_held']} ({summary['highest_rate_held_cycles_per_s']} cycles/s); "
        f"saturation ratio {summary['saturation_ratio']}",
        flush=True,
    )
    print(json.dumps(summary), flush=True)
    if bad:
        sys.exit(f"the calling invariants broke at N = {bad}")
