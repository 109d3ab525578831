"""The ``ringround`` command: demo, serve, import, backup, manage."""

import argparse
import os
import sys


def _setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ringround.settings")
    import django

    django.setup()


def _manage(*args: str) -> None:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["ringround manage", *args])


def _serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve with gunicorn (a production WSGI server, not Django's runserver)."""
    from gunicorn.app.base import BaseApplication

    from ringround.wsgi import application

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread" if threads > 1 else "sync")
            self.cfg.set("accesslog", os.environ.get("RINGROUND_ACCESS_LOG") or None)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("timeout", 60)

        def load(self):
            return application

    Server().run()


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

    from ringround.demo import load_demo

    print(f"Data folder: {settings.DATA_DIR}")
    _manage("migrate", "--no-input", "-v", "0")
    result = load_demo()
    url = f"http://{'localhost' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}/"
    print(f"\nDemo campaign “{result['campaign'].name}” is ready.")
    print("Log in with:")
    for email, password in result["logins"].items():
        print(f"  {email:<24} password: {password}")
    print(f"\nOpen {url}")
    if args.no_serve:
        return
    print("Press Ctrl+C to stop.\n", flush=True)
    _serve(args.host, args.port, args.workers, args.threads)


def cmd_serve(args) -> None:
    _setup_django()
    _serve(args.host, args.port, args.workers, args.threads)


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
        p.add_argument(
            "--workers", type=int, default=2 if name == "demo" else (os.cpu_count() or 1) * 2
        )
        p.add_argument("--threads", type=int, default=4)
        if name == "demo":
            p.add_argument(
                "--no-serve", action="store_true", help="set up, print the logins, and stop"
            )
    sub.add_parser("manage", help="Django's management commands (ringround manage help)")
    sub.add_parser("import", help="import a contacts file (ringround import --help)")
    sub.add_parser("backup", help="back up the database")
    sub.add_parser("restore", help="restore a backup")
    args = parser.parse_args(argv)
    {"demo": cmd_demo, "serve": cmd_serve}[args.command](args)


if __name__ == "__main__":
    main()
