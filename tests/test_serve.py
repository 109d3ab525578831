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


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_serve_answers_pages_and_api_with_security_headers(server, tmp_path):
    env = {
        **os.environ,
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
        deadline = time.monotonic() + 30
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
