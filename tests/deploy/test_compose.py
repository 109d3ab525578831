"""deploy/compose.yaml and deploy/local-cluster cannot drift: the launcher takes each service's
command and environment from the compose file, runs every service the file has (or the file
says it is not run locally), and the image it describes is the one the Dockerfile builds.
The running cluster's processes are compared with the file in test_local_cluster.py."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_launcher():
    spec = importlib.util.spec_from_file_location(
        "local_cluster", ROOT / "deploy" / "local_cluster.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


launcher = load_launcher()
compose = launcher.load_compose()


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("${A:-x}", {}, "x"),
        ("${A:-x}", {"A": ""}, "x"),
        ("${A-x}", {"A": ""}, ""),
        ("${A:-x}", {"A": "y"}, "y"),
        ("host=${H:-pgbouncer}:${P:-6432}", {"H": "127.0.0.1", "P": "5442"}, "host=127.0.0.1:5442"),
        ("$$PGDATA and $${A}", {"A": "no"}, "$PGDATA and ${A}"),
    ],
)
def test_the_launcher_interpolates_as_compose_does(text, variables, expected):
    assert launcher.interpolate(text, variables) == expected


def test_a_required_variable_that_is_missing_stops_the_launcher():
    with pytest.raises(launcher.ClusterError, match="SECRET_KEY: set it"):
        launcher.interpolate("${SECRET_KEY:?set it}", {})


def test_every_service_of_the_compose_file_runs_locally_or_says_why_not():
    services = compose["services"]
    skipped = {name for name, s in services.items() if s.get("x-local-cluster") == "skip"}
    assert set(launcher.SERVICES) | skipped == set(services)
    assert not set(launcher.SERVICES) & skipped


def test_the_app_servers_and_the_worker_share_one_environment_through_pgbouncer():
    apps = [compose["services"][name] for name in ("migrate", "app1", "app2", "worker")]
    environments = [app["environment"] for app in apps]
    assert all(env == environments[0] for env in environments)
    env = environments[0]
    assert "${PGBOUNCER_HOST:-pgbouncer}" in env["DATABASE_URL"]
    assert "${PGBOUNCER_HOST:-pgbouncer}" in env["DATABASE_STANDBY_URL"]
    assert env["DATABASE_STANDBY_URL"].endswith("/ringround_standby")
    assert env["REDIS_URL"].startswith("redis://${REDIS_HOST:-redis}")
    assert env["RINGROUND_TASK_WORKER"] == "0"  # the worker is its own service
    assert compose["services"]["worker"]["command"][:3] == ["ringround", "manage", "task_worker"]


def test_local_addresses_replace_the_container_names():
    cluster = launcher.LocalCluster(base_port=5460, app_port=8460)
    cluster.folder = Path("/nonexistent")
    command, env = cluster.spec("app2")
    assert command == ["ringround", "serve", "--host", "127.0.0.1", "--port", "8461"]
    assert env["DATABASE_URL"] == "postgres://ringround:ringround@127.0.0.1:5462/ringround"
    assert env["REDIS_URL"] == "redis://127.0.0.1:5463/0"
    assert env["RINGROUND_HTTPS"] == "false"


def test_pgbouncer_ini_is_rendered_with_local_addresses_and_the_same_pooling(tmp_path):
    text = (ROOT / "deploy" / "pgbouncer.ini").read_text()
    rendered = launcher.render_pgbouncer_ini(
        text,
        hosts={"primary": ("127.0.0.1", 5440), "standby": ("127.0.0.1", 5441)},
        listen=5442,
        folder=tmp_path,
    )
    assert "ringround = host=127.0.0.1 port=5440 dbname=ringround" in rendered
    assert "ringround_standby = host=127.0.0.1 port=5441 dbname=ringround" in rendered
    assert "listen_port = 5442" in rendered and "listen_addr = 127.0.0.1" in rendered

    def setting(ini, key):
        return [line for line in ini.splitlines() if line.split("=")[0].strip() == key]

    assert setting(rendered, "pool_mode") == setting(text, "pool_mode") == ["pool_mode = session"]


def test_the_primary_waits_for_the_standby_only_for_ringround():
    flags = launcher.postgres_flags(compose["services"]["primary"]["command"])
    assert "synchronous_standby_names=ANY 1 (standby)" in flags
    assert "synchronous_commit=local" in flags
    standby = launcher.postgres_flags(compose["services"]["standby"]["command"])
    assert "cluster_name=standby" in standby
    init = (ROOT / "deploy" / "postgres-init.sh").read_text()
    assert "ALTER ROLE ringround SET synchronous_commit = on" in init


def test_the_image_runs_as_a_user_with_a_health_check():
    dockerfile = (ROOT / "Dockerfile").read_text()
    lines = [line.split()[0] for line in dockerfile.splitlines() if line and line[0].isupper()]
    assert lines[0] == "FROM" and "USER" in lines and "HEALTHCHECK" in lines
    user = next(line for line in dockerfile.splitlines() if line.startswith("USER "))
    assert user.split()[1] not in ("root", "0")
    assert "/api/v1/health" in dockerfile
    assert all(
        s.get("build") == ".." for n, s in compose["services"].items() if n.startswith("app")
    )
