"""The ``ringround`` command: demo, serve, import, backup, manage."""

import argparse
import atexit
import os
import subprocess
import sys
import threading
from pathlib import Path


def _setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ringround.settings")
    import django

    django.setup()


def _manage(*args: str) -> None:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["ringround manage", *args])


SERVERS = ("gunicorn", "granian")


def _static_fingerprint() -> str:
    """What the collected static files are made from: every source file's path, size and
    modification time, as the finders see them."""
    import hashlib

    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in sorted(finder.list([]), key=lambda found: found[0]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _collect_static() -> None:
    """Copy the static files into STATIC_ROOT with hashed names and gzip/brotli copies, which
    WhiteNoise then serves long-cached and compressed (settings.py); the pages name the
    hashed files, so this comes before the first page. Compressing the ~1,000 files (the
    admin's and the API docs' among them) takes about ten seconds, so it is skipped when the
    sources are unchanged since the last time."""
    from django.conf import settings

    if settings.DEBUG:
        return
    root = Path(settings.STATIC_ROOT)
    stamp, fingerprint = root / ".ringround-collected", _static_fingerprint()
    if stamp.exists() and stamp.read_text() == fingerprint and (root / "staticfiles.json").exists():
        return
    print("Preparing static files (compressing; once per upgrade)…", flush=True)
    _manage("collectstatic", "--no-input", "-v", "0")
    stamp.write_text(fingerprint)


class KeptRunning:
    """A child process started again whenever it exits, until ``stop()``: the task worker,
    which exits when its database goes away (PostgreSQL restarted), is back as soon as the
    database is (queued imports then run)."""

    def __init__(self, command: list[str], *, pause: float = 2.0):
        self.command, self.pause = command, pause
        self.process = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kept-running", daemon=True)

    def start(self) -> "KeptRunning":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.process = subprocess.Popen(self.command)
            code = self.process.wait()
            if self._stopping.wait(self.pause):
                return
            self.restarts += 1
            print(f"ringround: {self.command[-1]} exited ({code}); starting it again", flush=True)

    def stop(self) -> None:
        self._stopping.set()
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self._thread.join(timeout=20)


def task_worker_command() -> list[str]:
    return [sys.executable, "-m", "ringround", "manage", "task_worker", "--no-reload"]


def _start_task_worker() -> None:
    """Background work (imports) runs in ``manage task_worker`` (django-tasks' db_worker, saying
    it is alive): start one beside the server, as a child process kept running while the
    server runs and stopped with it (RINGROUND_TASK_WORKER=0: don't)."""
    from django.conf import settings

    backend = settings.TASKS.get("default", {}).get("BACKEND", "")
    if not settings.RINGROUND_TASK_WORKER or "django_tasks_db" not in backend:
        return
    worker = KeptRunning(task_worker_command()).start()
    owner = os.getpid()

    def stop() -> None:
        if os.getpid() == owner:  # not a forked server worker exiting
            worker.stop()

    atexit.register(stop)


def _serve(host: str, port: int, workers: int, threads: int, server: str | None = None) -> None:
    """Serve with a production WSGI server (never Django's runserver).

    granian (Rust HTTP, ``workers`` processes of ``threads`` each) by default; gunicorn (gthread)
    with ``--server gunicorn`` or ``RINGROUND_SERVER=gunicorn``: on the calling loop granian
    costs less server CPU per call (``bench/load`` compares them)."""
    from django.conf import settings

    _collect_static()
    _start_task_worker()
    server = server or settings.RINGROUND_SERVER
    if server == "granian":
        return _serve_granian(host, port, workers, threads)
    from gunicorn.app.base import BaseApplication

    # Only once the command has chosen to serve: loading the app needs Django set up.
    from ringround.wsgi import application

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread" if threads > 1 else "sync")
            # Keep-alive connections of thousands of phones: a worker holds many at once.
            self.cfg.set("worker_connections", 4000)
            self.cfg.set("backlog", 4096)
            # The app is imported once, before the fork: a worker that dies is back at once.
            self.cfg.set("preload_app", True)
            self.cfg.set("accesslog", settings.RINGROUND_ACCESS_LOG or None)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("timeout", 60)

        def load(self):
            return application

    Server().run()


def _serve_granian(host: str, port: int, workers: int, threads: int) -> None:
    from django.conf import settings

    try:
        from granian import Granian
        from granian.constants import Interfaces
    except ImportError:
        sys.exit("granian is not installed: pip install 'ringround[granian]'")

    Granian(
        "ringround.wsgi:application",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,  # one database connection each
        backlog=4096,
        respawn_failed_workers=True,
        respawn_interval=0.5,
        log_access=bool(settings.RINGROUND_ACCESS_LOG),
    ).serve()


def cmd_demo(args) -> None:
    if (
        args.host not in ("127.0.0.1", "localhost", "0.0.0.0", "::")
        and "ALLOWED_HOSTS" not in os.environ
    ):
        os.environ["ALLOWED_HOSTS"] = f"localhost,127.0.0.1,{args.host}"
    if args.host in ("0.0.0.0", "::") and "ALLOWED_HOSTS" not in os.environ:
        os.environ["ALLOWED_HOSTS"] = "*"
    _setup_django()
    from django.conf import settings

    # Only after django.setup() above: the demo builds models.
    from ringround.demo import load_demo

    print(f"Data folder: {settings.DATA_DIR}")
    _manage("migrate", "--no-input", "-v", "0")
    result = load_demo()
    url = f"http://{'localhost' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}/"
    if args.telephony == "fake":
        # After django.setup() above, as load_demo.
        from ringround.demo import use_fake_telephony

        fake = use_fake_telephony(result["campaign"], url)
        print(
            f"Calls connect through a local fake provider at {fake.base_url} (nothing dials out)."
        )
    print(f"\nDemo campaign “{result['campaign'].name}” is ready.")
    print("Log in with:")
    for email, password in result["logins"].items():
        print(f"  {email:<24} password: {password}")
    print(f"\nOpen {url}")
    if args.no_serve:
        return
    print("Press Ctrl+C to stop.\n", flush=True)
    _serve(args.host, args.port, args.workers, args.threads, args.server)


def cmd_serve(args) -> None:
    _setup_django()
    _serve(args.host, args.port, args.workers, args.threads, args.server)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["manage"]:
        _setup_django()
        _manage(*argv[1:])
        return
    if argv[:1] == ["import"]:
        _setup_django()
        _manage("import_contacts", *argv[1:])
        return
    if argv[:1] in (["backup"], ["restore"]):
        _setup_django()
        _manage(argv[0], *argv[1:])
        return

    parser = argparse.ArgumentParser(
        prog="ringround", description="Self-hosted phone canvassing for volunteer-run campaigns."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, helptext in (
        ("demo", "set up a demo campaign on SQLite and serve it"),
        ("serve", "serve Ringround with the production server"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        # One process per core, each with a few threads to overlap database waits: the best
        # of the layouts bench/load tried on 2 cores (2x4 and 3x3 ahead of 4x4, 2x8, 2x16).
        p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
        p.add_argument("--threads", type=int, default=4)
        p.add_argument(
            "--server", choices=SERVERS, default=None, help="default: $RINGROUND_SERVER or granian"
        )
        if name == "demo":
            p.add_argument(
                "--no-serve", action="store_true", help="set up, print the logins, and stop"
            )
            p.add_argument(
                "--telephony",
                choices=["own_phone", "fake"],
                default="own_phone",
                help="how the demo's calls are placed: volunteers' own phones (default), or "
                "connected through a local fake provider",
            )
    sub.add_parser("manage", help="Django's management commands (ringround manage help)")
    sub.add_parser("import", help="import a contacts file (ringround import --help)")
    sub.add_parser("backup", help="back up the database")
    sub.add_parser("restore", help="restore a backup")
    args = parser.parse_args(argv)
    {"demo": cmd_demo, "serve": cmd_serve}[args.command](args)


if __name__ == "__main__":
    main()
