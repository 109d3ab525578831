"""Reports and exports read from the standby only while it is close enough behind; everything
else, and every write, goes to the primary (ringround/standby.py). The standby's own lag
query is exercised against a real standby by tests/deploy/test_local_cluster.py; here its
measurement is a stand-in with a controlled clock."""

import pytest

from ringround import standby
from ringround.calling.models import Call

# The standby here is a second name for the test database: only the router's choice is tested.
pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Lags:
    """What the standby answers when asked how far behind it is (None: unreachable)."""

    def __init__(self, value):
        self.value, self.asked = value, 0

    def __call__(self):
        self.asked += 1
        return self.value


@pytest.fixture
def with_standby(settings, monkeypatch):
    settings.DATABASES = {**settings.DATABASES, "standby": dict(settings.DATABASES["default"])}
    settings.RINGROUND_STANDBY_MAX_LAG_SECONDS = 10
    lags, clock = Lags(0.5), Clock()
    monkeypatch.setattr(standby, "probe", standby.LagProbe(measure=lags, clock=clock))
    return lags, clock


def test_reports_read_the_standby_while_it_is_within_the_bound(with_standby):
    lags, _ = with_standby
    router = standby.StandbyRouter()
    with standby.reads_from_standby() as database:
        assert database == "standby"
        assert router.db_for_read(Call) == "standby"
        assert router.db_for_write(Call) == "default"
    assert router.db_for_read(Call) == "default"


@pytest.mark.parametrize("lag", [10.5, 3600.0, None])
def test_reports_read_the_primary_when_the_standby_is_too_far_behind_or_away(with_standby, lag):
    lags, _ = with_standby
    lags.value = lag
    with standby.reads_from_standby() as database:
        assert database == "default"
        assert standby.StandbyRouter().db_for_read(Call) == "default"


def test_the_lag_is_asked_at_most_once_a_second_per_process(with_standby):
    lags, clock = with_standby
    for _ in range(5):
        standby.reporting_database()
    assert lags.asked == 1
    lags.value = 60.0
    clock.now += 0.5
    assert standby.reporting_database() == "standby"  # not asked again yet
    clock.now += standby.PROBE_SECONDS
    assert standby.reporting_database() == "default"
    assert lags.asked == 2


def test_without_a_standby_everything_reads_the_primary():
    with standby.reads_from_standby() as database:
        assert database == "default"
        assert standby.StandbyRouter().db_for_read(Call) == "default"


def test_only_the_primary_is_migrated():
    router = standby.StandbyRouter()
    assert router.allow_migrate("default", "calling")
    assert not router.allow_migrate("standby", "calling")
