"""deploy/local-cluster: the topology of deploy/compose.yaml on one machine, without containers.

Each service runs with the command and environment deploy/compose.yaml gives it, read from that
file (so the two cannot drift), with its addresses (``${PGBOUNCER_HOST:-pgbouncer}`` and the
like) pointed at 127.0.0.1 and ports of its own:

    primary    PostgreSQL 15, a new cluster (initdb), the compose file's flags, its init script
    standby    a base backup of the primary (pg_basebackup -R), streaming, synchronous
    pgbouncer  deploy/pgbouncer.ini, with local hosts and ports (Debian's PgBouncer)
    redis      the compose file's redis-server command
    migrate    once, before the app servers
    app1/app2  ``ringround serve`` on two ports
    worker     ``ringround manage task_worker``

Everything lives in one temporary folder, removed on stop. Run as root, PostgreSQL and
PgBouncer run as the ``postgres`` user (they refuse root). ``fail_over()`` does what
deploy/README.md tells an operator to do when the primary fails.

    deploy/local-cluster                 # start, print the addresses, run until Ctrl-C
    deploy/local-cluster --pool-mode transaction
"""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent
COMPOSE_FILE = DEPLOY / "compose.yaml"
PG_BIN = Path(os.environ.get("RINGROUND_PG_BIN", "/usr/lib/postgresql/15/bin"))
# The services this launcher runs, in order (nginx is not run: clients talk to the apps).
SERVICES = ("primary", "standby", "pgbouncer", "redis", "migrate", "app1", "app2", "worker")
APPS = ("app1", "app2")


class ClusterError(RuntimeError):
    pass


# --- compose.yaml ---------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(text: str, variables: dict) -> str:
    """Compose's interpolation: ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
    ``${VAR:?message}``, and ``$$`` for a plain dollar."""

    def replace(match):
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3)
        value = variables.get(name)
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if value is not None else arg
        if op in (":?", "?"):
            if not value:
                raise ClusterError(f"{name}: {arg or 'must be set'}")
            return value
        return value or ""

    return _VARIABLE.sub(replace, text)


def _resolve(value, variables):
    if isinstance(value, str):
        return interpolate(value, variables)
    if isinstance(value, list):
        return [_resolve(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, variables) for k, v in value.items()}
    return value


def load_compose(path: Path = COMPOSE_FILE) -> dict:
    with open(path) as f:
        return yaml.safe_load(f)


def service_spec(compose: dict, name: str, variables: dict) -> tuple[list[str], dict[str, str]]:
    """A service's command and environment as compose would run them, interpolated."""
    service = compose["services"][name]
    command = [str(part) for part in _resolve(service.get("command", []), variables)]
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    environment = {k: "" if v is None else str(v) for k, v in environment.items()}
    return command, _resolve(environment, variables)


def postgres_flags(command: list[str]) -> list[str]:
    """The ``-c name=value`` flags of a ``postgres …`` command."""
    if not command or command[0] != "postgres":
        raise ClusterError(f"expected a postgres command, found {command[:1]}")
    return command[1:]


# --- PgBouncer --------------------------------------------------------------------------------


def find_pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None
    )


def install_pgbouncer() -> str | None:
    """Debian's pgbouncer, when it is missing and this process may install packages (root
    with apt-get). Returns its path, or None."""
    found = find_pgbouncer()
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "pgbouncer"]):
        subprocess.run(step, env=env, capture_output=True, check=False, timeout=600)
    return find_pgbouncer()


def pgbouncer_version(binary: str) -> tuple[int, ...]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    found = re.search(r"PgBouncer (\d+)\.(\d+)", out)
    return tuple(int(x) for x in found.groups()) if found else (0, 0)


def render_pgbouncer_ini(
    text: str, *, hosts: dict[str, tuple[str, int]], listen: int, folder: Path, pool_mode=None
) -> str:
    """deploy/pgbouncer.ini with local addresses: each ``host=NAME port=N`` becomes the address
    in ``hosts``, it listens on 127.0.0.1 and trusts local connections (the local cluster
    has no passwords), and its files are in ``folder``."""

    def host(match):
        address, port = hosts[match.group(1)]
        return f"host={address} port={port}"

    text = re.sub(r"host=(\w+) port=\d+", host, text)
    local = {
        "listen_addr": "127.0.0.1",
        "listen_port": str(listen),
        "auth_type": "trust",
        "auth_file": str(folder / "pgbouncer-users.txt"),
        "unix_socket_dir": str(folder),
        "pidfile": str(folder / "pgbouncer.pid"),
        "logfile": str(folder / "pgbouncer.log"),
    }
    if pool_mode:
        local["pool_mode"] = pool_mode
    lines = []
    for line in text.splitlines():
        key = line.split("=", 1)[0].strip()
        if key in local:
            line = f"{key} = {local.pop(key)}"
        lines.append(line)
    lines += [f"{key} = {value}" for key, value in local.items()]
    return "\n".join(lines) + "\n"


# --- the cluster -----------------------------------------------------------------------------


def free_port(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class LocalCluster:
    """Start with ``start()``, stop with ``stop()`` (or use it as a context manager)."""

    def __init__(
        self,
        *,
        base_port: int = 5440,
        app_port: int = 8440,
        pool_mode: str | None = None,
        overrides: dict | None = None,
        keep: bool = False,
        log=print,
    ):
        self.ports = {
            "primary": base_port,
            "standby": base_port + 1,
            "pgbouncer": base_port + 2,
            "redis": base_port + 3,
            "app1": app_port,
            "app2": app_port + 1,
        }
        self.pool_mode = pool_mode
        self.overrides = dict(overrides or {})
        self.keep, self.log = keep, log
        self.compose = load_compose()
        self.folder: Path | None = None
        self.secret_key = secrets.token_urlsafe(40)
        self.processes: dict[str, subprocess.Popen] = {}
        self.as_postgres = os.geteuid() == 0
        self.bin = Path(sys.executable).parent

    # addresses

    def variables(self) -> dict:
        """What compose.yaml's ``${…}`` become here."""
        # The cluster's own folder: a static folder shared between runs of different
        # checkouts looked collected while its files were another version's, so both app
        # servers collected at once and tripped over each other's files.
        static_root = Path(os.environ.get("RINGROUND_CLUSTER_STATIC") or self.folder / "static")
        return {
            "PRIMARY_HOST": "127.0.0.1",
            "PRIMARY_PORT": str(self.ports["primary"]),
            "STANDBY_HOST": "127.0.0.1",
            "STANDBY_PORT": str(self.ports["standby"]),
            "PGBOUNCER_HOST": "127.0.0.1",
            "PGBOUNCER_PORT": str(self.ports["pgbouncer"]),
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(self.ports["redis"]),
            "REDIS_BIND": "127.0.0.1",
            "APP_HOST": "127.0.0.1",
            "APP1_PORT": str(self.ports["app1"]),
            "APP2_PORT": str(self.ports["app2"]),
            "RINGROUND_HTTPS": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "RINGROUND_TRUSTED_PROXIES": "127.0.0.1",
            "RINGROUND_DATA": str(self.folder / "data"),
            "STATIC_ROOT": str(static_root),
            "SECRET_KEY": self.secret_key,
            "RINGROUND_TRANSACTION_POOLER": "true" if self.pool_mode == "transaction" else "false",
            **self.overrides,
        }

    def url(self, service: str, database: str = "ringround", user: str = "postgres") -> str:
        return f"postgres://{user}@127.0.0.1:{self.ports[service]}/{database}"

    def app_url(self, app: str) -> str:
        return f"http://127.0.0.1:{self.ports[app]}"

    def spec(self, name: str) -> tuple[list[str], dict]:
        return service_spec(self.compose, name, self.variables())

    # running things

    def _log_file(self, name):
        return open(self.folder / "logs" / f"{name}.log", "ab")

    def _popen(self, name, command, env=None, postgres_user=False, cwd=None):
        extra = (
            {"user": "postgres", "group": "postgres"} if postgres_user and self.as_postgres else {}
        )
        log = self._log_file(name)
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=cwd or self.folder,
            **extra,
        )
        self.processes[name] = process
        return process

    def _run(self, name, command, env=None, postgres_user=False, timeout=300):
        extra = (
            {"user": "postgres", "group": "postgres"} if postgres_user and self.as_postgres else {}
        )
        with self._log_file(name) as log:
            done = subprocess.run(
                command,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                timeout=timeout,
                **extra,
            )
        if done.returncode:
            raise ClusterError(f"{name} failed ({done.returncode}):\n{self.tail(name)}")

    def tail(self, name, lines=30) -> str:
        path = self.folder / "logs" / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _wait(self, what, check, timeout=60, process=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise ClusterError(f"{what} exited with {process.returncode}:\n{self.tail(what)}")
            try:
                if check():
                    return
            except Exception:  # noqa: BLE001,S110 - not up yet
                pass
            time.sleep(0.2)
        raise ClusterError(f"{what} not ready after {timeout} s:\n{self.tail(what)}")

    def _base_env(self) -> dict:
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
        return {k: os.environ[k] for k in keep if k in os.environ}

    # the services

    def start(self):
        busy = [f"{name} ({port})" for name, port in self.ports.items() if not free_port(port)]
        if busy:
            raise ClusterError(f"ports in use: {', '.join(busy)}")
        self.pgbouncer = find_pgbouncer()
        if not self.pgbouncer:
            raise ClusterError("PgBouncer is not installed (apt-get install pgbouncer)")
        self.folder = Path(tempfile.mkdtemp(prefix="ringround-cluster-"))
        (self.folder / "logs").mkdir()
        (self.folder / "data").mkdir()
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
            shutil.chown(self.folder / "logs", "postgres", "postgres")
            os.chmod(self.folder / "logs", 0o777)
        try:
            self._start_primary()
            self._start_standby()
            self._start_pgbouncer()
            self._start_redis()
            self._migrate()
            self._start_apps()
            self._start_worker()
        except BaseException:
            self.stop()
            raise
        return self

    def _postgres(self, name, data: Path):
        flags = postgres_flags(self.spec(name)[0])
        command = [str(PG_BIN / "postgres"), "-D", str(data), "-p", str(self.ports[name])]
        command += flags + ["-c", "listen_addresses=127.0.0.1"]
        command += ["-c", f"unix_socket_directories={self.folder}"]
        process = self._popen(name, command, env=self._base_env(), postgres_user=True)
        self._wait(name, lambda: self._pg_ready(name), process=process)

    def _pg_ready(self, name) -> bool:
        import psycopg

        with psycopg.connect(self.url(name, "postgres"), connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True

    def _start_primary(self):
        data = self.folder / "primary"
        self._run(
            "primary",
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ]
            + ["--locale=C.UTF-8"],
            env=self._base_env(),
            postgres_user=True,
        )
        self._postgres("primary", data)
        env = {
            **self._base_env(),
            **self.spec("primary")[1],
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.ports["primary"]),
            "PGDATA": str(data),
            "POSTGRES_USER": "postgres",
        }
        self._run(
            "primary-init", ["sh", str(DEPLOY / "postgres-init.sh")], env=env, postgres_user=True
        )
        self.log(f"primary on {self.ports['primary']}")

    def _start_standby(self):
        data = self.folder / "standby"
        # As the standby's entrypoint in compose.yaml does.
        self._run(
            "standby",
            [str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.ports["primary"])]
            + ["-U", "replicator", "-D", str(data), "-R", "-X", "stream", "-c", "fast"],
            env=self._base_env(),
            postgres_user=True,
        )
        self._postgres("standby", data)
        self._wait("standby", self._standby_synchronous, timeout=30)
        self.log(f"standby on {self.ports['standby']} (synchronous)")

    def _standby_synchronous(self) -> bool:
        import psycopg

        with psycopg.connect(self.url("primary", "postgres")) as conn:
            row = conn.execute(
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby'"
            ).fetchone()
        return bool(row) and row[0] in ("sync", "quorum")

    def _pgbouncer_ini(self, primary="primary", standby="standby") -> str:
        address = {name: ("127.0.0.1", self.ports[name]) for name in ("primary", "standby")}
        return render_pgbouncer_ini(
            (DEPLOY / "pgbouncer.ini").read_text(),
            hosts={"primary": address[primary], "standby": address[standby]},
            listen=self.ports["pgbouncer"],
            folder=self.folder,
            pool_mode=self.pool_mode,
        )

    def _start_pgbouncer(self):
        shutil.copy(DEPLOY / "pgbouncer-users.txt", self.folder / "pgbouncer-users.txt")
        ini = self.folder / "pgbouncer.ini"
        ini.write_text(self._pgbouncer_ini())
        if self.as_postgres:
            for path in (ini, self.folder / "pgbouncer-users.txt"):
                shutil.chown(path, "postgres", "postgres")
        command, _ = self.spec("pgbouncer")
        if Path(command[0]).name != "pgbouncer":
            raise ClusterError(f"compose's pgbouncer runs {command[0]}, not pgbouncer")
        process = self._popen(
            "pgbouncer", [self.pgbouncer, str(ini)], env=self._base_env(), postgres_user=True
        )
        self._wait("pgbouncer", lambda: self._pg_ready_url(self.url("pgbouncer")), process=process)
        self.log(f"pgbouncer on {self.ports['pgbouncer']} ({self.pool_mode or 'as in the ini'})")

    def _pg_ready_url(self, url) -> bool:
        import psycopg

        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True

    def _start_redis(self):
        command, _ = self.spec("redis")
        process = self._popen("redis", command, env=self._base_env())

        def ready():
            import redis

            return redis.Redis(port=self.ports["redis"], socket_timeout=1).ping()

        self._wait("redis", ready, process=process)
        self.log(f"redis on {self.ports['redis']}")

    def app_env(self, name) -> dict:
        return {**self._base_env(), **self.spec(name)[1]}

    def _command(self, command: list[str]) -> list[str]:
        """``ringround …`` is this environment's ringround (the image has it on its PATH)."""
        if command and command[0] == "ringround":
            return [str(self.bin / "ringround"), *command[1:]]
        return command

    def _migrate(self):
        command, _ = self.spec("migrate")
        self._run("migrate", self._command(command), env=self.app_env("migrate"), timeout=600)
        self.log("migrated")

    def _start_apps(self):
        """The app servers; the first alone when the static files are still to be collected
        (each server collects them on start: two at once would write the same files)."""
        collected = (Path(self.variables()["STATIC_ROOT"]) / ".ringround-collected").exists()
        started = []
        for app in APPS:
            command, _ = self.spec(app)
            process = self._popen(app, self._command(command), env=self.app_env(app))
            started.append((app, process))
            if not collected:
                self._wait_app(app, process)
                collected = True
                started.pop()
        for app, process in started:
            self._wait_app(app, process)

    def _wait_app(self, app, process):
        health = f"{self.app_url(app)}/api/v1/health"

        def ready():
            import urllib.request

            with urllib.request.urlopen(health, timeout=2) as response:
                return response.status == 200

        self._wait(app, ready, timeout=180, process=process)
        self.log(f"{app} on {self.app_url(app)}")

    def _start_worker(self):
        command, _ = self.spec("worker")
        self._popen("worker", self._command(command), env=self.app_env("worker"))
        self.log("worker started")

    # failover

    def fail_over(self):
        """What deploy/README.md tells an operator to do when the primary fails: make sure the
        old primary is down, promote the standby, point PgBouncer at it and RELOAD."""
        self._stop_postgres("primary", mode="immediate")
        self._run(
            "standby-promote",
            [str(PG_BIN / "pg_ctl"), "promote", "-w", "-D", str(self.folder / "standby")],
            env=self._base_env(),
            postgres_user=True,
        )
        ini = self.folder / "pgbouncer.ini"
        ini.write_text(self._pgbouncer_ini(primary="standby", standby="standby"))
        os.kill(self.processes["pgbouncer"].pid, signal.SIGHUP)  # RELOAD
        self.log("failed over: the standby is the primary")

    def pause_standby_replay(self, paused: bool):
        import psycopg

        with psycopg.connect(self.url("standby", "postgres"), autocommit=True) as conn:
            conn.execute(
                "SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()"
            )

    def _stop_postgres(self, name, mode="fast"):
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGQUIT if mode == "immediate" else signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self):
        for name in ("worker", "app2", "app1", "redis", "pgbouncer"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait()
        self._stop_postgres("standby")
        self._stop_postgres("primary")
        if self.folder and not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def describe(self) -> dict:
        return {
            "folder": str(self.folder),
            "apps": [self.app_url(app) for app in APPS],
            "database": self.url("pgbouncer", user="ringround"),
            "primary": self.url("primary"),
            "standby": self.url("standby"),
            "redis": f"redis://127.0.0.1:{self.ports['redis']}/0",
        }


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--base-port", type=int, default=5440)
    parser.add_argument("--app-port", type=int, default=8440)
    parser.add_argument("--pool-mode", choices=["session", "transaction"], default=None)
    parser.add_argument("--keep", action="store_true", help="keep the folder (logs) on exit")
    parser.add_argument(
        "--install", action="store_true", help="install Debian's pgbouncer if missing (root)"
    )
    args = parser.parse_args(argv)
    if args.install:
        install_pgbouncer()
    cluster = LocalCluster(
        base_port=args.base_port, app_port=args.app_port, pool_mode=args.pool_mode, keep=args.keep
    )
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        cluster.start()
        print(json.dumps(cluster.describe(), indent=2), flush=True)
        print("Running; Ctrl-C stops it.", flush=True)
        while not stopping:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except ClusterError as exc:
        sys.exit(str(exc))
    finally:
        cluster.stop()
