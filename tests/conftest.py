"""What every test shares: the fast password hasher, media in a temporary folder, and random
data that is the same on every run.

Random data: each test seeds Python's ``random`` and factory-boy's and Faker's random from its
own node id (``seed_for``), so a test's generated names do not depend on which tests ran before
it, nor on the machine. ``RINGROUND_TEST_SEED=N`` runs every test with seed N instead; a failing
test's report names its seed and the command that repeats it. Hypothesis runs derandomised
(the same examples every run) unless ``RINGROUND_HYPOTHESIS=explore`` asks it to look further.
"""

import os
import random
import shlex
import zlib

import factory.random
import pytest
from django.core.cache import cache
from django.db import connection
from hypothesis import settings as hypothesis_settings

from tests import factories

pytest_plugins = ["pytester"]

SEED_VARIABLE = "RINGROUND_TEST_SEED"
HYPOTHESIS_VARIABLE = "RINGROUND_HYPOTHESIS"
_seed_key = pytest.StashKey[int]()

hypothesis_settings.register_profile("ringround", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False, database=None, print_blob=True)
# Loaded here, before any test module makes its own ``settings(...)``, which inherit from it.
hypothesis_settings.load_profile(
    "explore" if os.environ.get(HYPOTHESIS_VARIABLE, "").strip() == "explore" else "ringround"
)


def seed_for(nodeid: str) -> int:
    """The test's seed: ``RINGROUND_TEST_SEED`` if set, else a checksum of its node id."""
    chosen = os.environ.get(SEED_VARIABLE, "").strip()
    if chosen:
        return int(chosen)
    return zlib.crc32(nodeid.encode())


def seed_test_data(seed: int) -> None:
    """Seed every source of random test data, and restart the factories' counters."""
    random.seed(seed)
    factory.random.reseed_random(seed)  # factory-boy's and Faker's random
    factories.restart_counters()


def repeat_command(nodeid: str, seed: int) -> str:
    return f"random seed {seed}: {SEED_VARIABLE}={seed} pytest {shlex.quote(nodeid)}"


def pytest_report_header(config):
    chosen = os.environ.get(SEED_VARIABLE, "").strip()
    profile = hypothesis_settings.default
    return [
        f"random seeds: {SEED_VARIABLE}={chosen} for every test"
        if chosen
        else "random seeds: one per test, from its node id",
        "hypothesis: " + ("exploring" if not profile.derandomize else "derandomised"),
    ]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report says which seed its random data came from, and how to repeat it."""
    report = yield
    seed = item.stash.get(_seed_key, None)
    if report.failed and seed is not None:
        report.sections.append(("random seed", repeat_command(item.nodeid, seed)))
    return report


@pytest.fixture(autouse=True)
def _seeded_random(request):
    """Random test data depends on the test alone, never on what ran before it."""
    seed = seed_for(request.node.nodeid)
    request.node.stash[_seed_key] = seed
    seed_test_data(seed)
    return seed


@pytest.fixture(autouse=True)
def _postgres_only(request):
    if request.node.get_closest_marker("postgres_only") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks, real concurrency): runs in the PostgreSQL pass")


@pytest.fixture(autouse=True)
def _empty_cache():
    """Counters kept in the cache (failed sign-ins per address, cached figures) start from
    nothing in every test, whatever ran before it."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def artefacts_dir():
    path = os.environ.get("RINGROUND_ARTEFACTS", "artifacts")
    os.makedirs(path, exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings, request):
    """Argon2 is deliberately slow; tests that are not about hashing use a fast hasher.

    The one place this is set: a test marked ``real_password_hashing`` keeps Argon2."""
    if not request.node.get_closest_marker("real_password_hashing"):
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _static_files_from_the_package(settings):
    """Pages under test name and serve static files straight from the package, as with DEBUG:
    production's hashed names need a collectstatic first, and the live server's static
    handler finds files by their plain names. tests/test_static.py tests the production
    arrangement (collectstatic, hashed names, compression, long caching) itself."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    settings.STATIC_ROOT = None  # nothing collected


@pytest.fixture(autouse=True)
def _tps_screening_not_required(settings, request):
    """Most tests are not about TPS: their teams have loaded no screening file, which would
    stop every campaign calling UK numbers. tests/compliance turns the requirement back on
    (``tps_required``), as it is on every real site."""
    settings.RINGROUND_TPS_SCREENING_REQUIRED = False


@pytest.fixture
def tps_required(settings):
    settings.RINGROUND_TPS_SCREENING_REQUIRED = True
