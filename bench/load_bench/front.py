"""``--front nginx``: the benchmark's clients talk to nginx, configured with the two location
blocks of deploy/nginx.conf (the proxy, and the 503 it gives when an app worker is lost), over
plain HTTP on the next port, with the app server behind it."""

import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY_CONF = os.path.join(ROOT, "deploy", "nginx.conf")

TEMPLATE = """
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log crit;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    upstream ringround {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        keepalive_requests 1000000;
        {locations}
    }}
}}
"""


def locations() -> str:
    """The location blocks of the deployment's configuration, as they are there."""
    with open(DEPLOY_CONF) as f:
        text = f.read()
    blocks = re.findall(r"^    location [^\n]*\{\n.*?^    \}\n", text, re.S | re.M)
    if len(blocks) != 2:
        raise SystemExit(f"expected two location blocks in {DEPLOY_CONF}")
    return "\n".join(blocks)


def start_nginx(port: int, upstream: int) -> tuple[subprocess.Popen, str]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        raise SystemExit("--front nginx needs nginx (apt-get install nginx-light)")
    folder = tempfile.mkdtemp(prefix="ringround-nginx-")
    conf = os.path.join(folder, "nginx.conf")
    with open(conf, "w") as f:
        f.write(TEMPLATE.format(folder=folder, port=port, upstream=upstream, locations=locations()))
    process = subprocess.Popen(
        [nginx, "-c", conf, "-p", folder, "-g", "daemon off;"], start_new_session=True
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2):
                return process, folder
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"nginx exited with {process.returncode}") from None
            time.sleep(0.2)
    process.kill()
    raise SystemExit("nginx did not answer")
