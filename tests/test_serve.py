"""`ringround serve` starts a production server that answers pages and the API (both servers
it offers), on a fresh SQLite data folder."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """One folder of collected static files for every server started here: `serve` collects
    them the first time (seconds) and finds them ready after."""
    return str(tmp_path_factory.mktemp("static"))


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_serve_answers_pages_and_api_with_security_headers(server, tmp_path, static_root):
    env = {
        **os.environ,
        "STATIC_ROOT": static_root,
        "RINGROUND_DATA": str(tmp_path / "data"),
        "RINGROUND_TASK_WORKER": "0",
        "SECRET_KEY": "serve-test-" + "x" * 40,
    }
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "ringround", "manage", "migrate", "-v", "0"], env=env, check=True
    )
    port = free_port()
    command = [sys.executable, "-m", "ringround", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--server", server, "--workers", "1", "--threads", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90  # the first start collects static files
        while True:
            try:
                status, headers, body = get(base + "/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, f"{server} did not start"
                time.sleep(0.2)
        assert status == 200 and json.loads(body)["ok"] is True
        status, headers, _ = get(base + "/accounts/login/")
        assert status == 200
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        status, headers, body = get(base + "/api/v1/campaigns")
        assert status == 401 and json.loads(body)["error"] == "not_authenticated"
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=20)


def test_a_process_kept_running_is_started_again_when_it_exits():
    from ringround.cli import KeptRunning

    kept = KeptRunning([sys.executable, "-c", "raise SystemExit(3)"], pause=0.05).start()
    deadline = time.monotonic() + 20
    while kept.restarts < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    kept.stop()

    assert kept.restarts >= 3
    assert kept.process.poll() is not None


def _task_workers_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except OSError:
            continue
        if parent == pid and b"task_worker" in command:
            found.append(int(entry))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads child processes from /proc")
def test_serve_starts_the_task_worker_again_when_it_dies(tmp_path, static_root):
    env = {
        **os.environ,
        "STATIC_ROOT": static_root,
        "RINGROUND_DATA": str(tmp_path / "data"),
        "SECRET_KEY": "serve-test-" + "x" * 40,
    }
    env.pop("DATABASE_URL", None)
    env.pop("RINGROUND_TASK_WORKER", None)
    subprocess.run(
        [sys.executable, "-m", "ringround", "manage", "migrate", "-v", "0"], env=env, check=True
    )
    command = [sys.executable, "-m", "ringround", "serve", "--port", str(free_port())]
    process = subprocess.Popen(
        [*command, "--workers", "1", "--threads", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90  # the first start collects static files
        while not (first := _task_workers_of(process.pid)):
            assert time.monotonic() < deadline, "no task worker started"
            time.sleep(0.1)
        os.kill(first[0], 9)  # as if it had died with its database connection
        while not (again := [pid for pid in _task_workers_of(process.pid) if pid != first[0]]):
            assert time.monotonic() < deadline + 30, "the task worker was not started again"
            time.sleep(0.1)
        assert again and process.poll() is None
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=20)
