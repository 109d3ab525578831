"""bench/load --pooler: PgBouncer between the app server and PostgreSQL, configured as
deploy/pgbouncer.ini (the same file, rendered by deploy/local_cluster.py), in session or
transaction pooling. The seed, the checks and the baseline still talk to PostgreSQL directly."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
sys.path.insert(0, str(DEPLOY))

import local_cluster  # noqa: E402


def start(pg_url: str, database: str, port: int, mode: str):
    """Start PgBouncer in ``mode`` on ``port`` in front of ``pg_url``; returns (process, the
    URL the app server should use)."""
    binary = local_cluster.install_pgbouncer()
    if not binary:
        sys.exit("--pooler needs PgBouncer (apt-get install pgbouncer)")
    parts = urlsplit(pg_url)
    folder = Path(tempfile.mkdtemp(prefix="ringround-load-pgbouncer-"))
    address = (parts.hostname or "127.0.0.1", parts.port or 5432)
    ini = local_cluster.render_pgbouncer_ini(
        (DEPLOY / "pgbouncer.ini").read_text(),
        hosts={"primary": address, "standby": address},
        listen=port,
        folder=folder,
        pool_mode=mode,
    ).replace("dbname=ringround\n", f"dbname={database}\n")
    (folder / "pgbouncer.ini").write_text(ini)
    shutil.copy(DEPLOY / "pgbouncer-users.txt", folder / "pgbouncer-users.txt")
    extra = {}
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        for path in folder.iterdir():
            shutil.chown(path, "postgres", "postgres")
        extra = {"user": "postgres", "group": "postgres"}
    process = subprocess.Popen(
        [binary, str(folder / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        **extra,
    )
    user = parts.username or "postgres"
    url = f"postgres://{user}@127.0.0.1:{port}/ringround"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return process, url, folder
        except psycopg.Error:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    sys.exit(f"PgBouncer did not start (see {folder})")


def stop(process, folder):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    shutil.rmtree(folder, ignore_errors=True)
