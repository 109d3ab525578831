"""The harness behind reproducible test data: seeds per test, counters that restart, a
derandomised Hypothesis, and a failing test's report that says how to repeat it."""

import os
import re
import sys
import zlib

import pytest
from hypothesis import settings as hypothesis_settings

from tests.conftest import HYPOTHESIS_VARIABLE, SEED_VARIABLE, seed_for, seed_test_data
from tests.factories import ContactFactory, UserFactory, fresh_key

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def generated():
    return [
        (c.first_name, c.last_name, c.phone, u.name, u.email)
        for c, u in ((ContactFactory.build(), UserFactory.build()) for _ in range(5))
    ]


def test_the_same_seed_gives_the_same_people_and_another_seed_other_people():
    seed_test_data(1234)
    first = generated()
    seed_test_data(1234)
    again = generated()
    seed_test_data(4321)
    other = generated()

    assert again == first
    assert [p[:2] for p in other] != [p[:2] for p in first]


def test_numbers_and_keys_start_again_in_each_test_and_never_repeat_within_one():
    phones = [ContactFactory.build().phone for _ in range(3)]
    keys = [fresh_key() for _ in range(3)]

    assert phones == ["+442079460000", "+442079460001", "+442079460002"]
    assert keys == [f"test-submission-{n:06d}" for n in (1, 2, 3)]
    assert UserFactory.build().email == "person0@example.org"


def test_the_seed_comes_from_the_node_id_unless_one_is_chosen(request, monkeypatch):
    monkeypatch.delenv(SEED_VARIABLE, raising=False)
    assert seed_for(request.node.nodeid) == zlib.crc32(request.node.nodeid.encode())
    assert seed_for("tests/a.py::test_a") != seed_for("tests/a.py::test_b")
    monkeypatch.setenv(SEED_VARIABLE, "7")
    assert seed_for(request.node.nodeid) == 7


@pytest.mark.skipif(os.environ.get(HYPOTHESIS_VARIABLE) == "explore", reason="exploring on purpose")
def test_hypothesis_runs_the_same_examples_every_time():
    assert hypothesis_settings.default.derandomize is True
    assert hypothesis_settings.default.database is None


def test_tests_hash_passwords_quickly_unless_marked():
    assert UserFactory.build().password.startswith("md5$")


def test_a_failing_tests_report_gives_its_seed_and_the_same_data_in_every_process(
    pytester, monkeypatch
):
    """Two separate runs of one failing test: the same seed, the same generated person."""
    monkeypatch.delenv(SEED_VARIABLE, raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([REPO, *sys.path]))
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "ringround.settings")
    pytester.makepyfile(
        test_unlucky="""
        from tests.factories import ContactFactory

        def test_unlucky():
            assert ContactFactory.build().last_name == "nobody is called this"
        """
    )
    pytester.makeconftest("from tests.conftest import _seeded_random, pytest_runtest_makereport")
    seed = zlib.crc32(b"test_unlucky.py::test_unlucky")

    runs = [pytester.runpytest_subprocess() for _ in range(2)]

    names = []
    for run in runs:
        run.assert_outcomes(failed=1)
        output = run.stdout.str()
        assert (
            f"random seed {seed}: {SEED_VARIABLE}={seed} pytest test_unlucky.py::test_unlucky"
            in output
        )
        names.append(re.search(r"AssertionError: assert '([^']+)' ==", output).group(1))
    assert names[0] == names[1]
