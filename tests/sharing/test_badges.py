"""Badges: each given once, by the call that reaches its milestone, at that call's time,
also when calls arrive at the same moment (PostgreSQL)."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from ringround.calling import rules
from ringround.calling.models import VolunteerTally
from ringround.sharing import momentum, services
from ringround.sharing.models import Badge, CallTime
from tests.factories import make_campaign, make_volunteer, record
from tests.sharing.helpers import NOW, call, published_campaign
from tests.threads import run_at_once

pytestmark = pytest.mark.django_db
Kind = Badge.Kind


def kinds(campaign, volunteer):
    return set(
        Badge.objects.filter(campaign=campaign, volunteer=volunteer).values_list("kind", flat=True)
    )


def test_first_call_then_ten_calls_each_at_the_call_that_reached_it(
    django_capture_on_commit_callbacks,
):
    campaign, _ = published_campaign(targets=12)
    vera = make_volunteer(campaign)
    call(campaign, vera, now=NOW, capture=django_capture_on_commit_callbacks)
    assert kinds(campaign, vera) == {Kind.FIRST_CALL}
    for n in range(2, 10):
        call(
            campaign,
            vera,
            now=NOW + dt.timedelta(minutes=n),
            capture=django_capture_on_commit_callbacks,
        )
    assert Kind.CALLS_10 not in kinds(campaign, vera)
    tenth = NOW + dt.timedelta(minutes=10)
    call(campaign, vera, now=tenth, capture=django_capture_on_commit_callbacks)
    badge = Badge.objects.get(campaign=campaign, volunteer=vera, kind=Kind.CALLS_10)
    assert badge.awarded_at == tenth
    assert Badge.objects.filter(volunteer=vera).count() == 2


def test_first_conversation_only_on_a_conversation(django_capture_on_commit_callbacks):
    campaign, _ = published_campaign(targets=3)
    vera = make_volunteer(campaign)
    call(campaign, vera, "no_answer", capture=django_capture_on_commit_callbacks)
    assert Kind.FIRST_CONVERSATION not in kinds(campaign, vera)
    call(
        campaign,
        vera,
        "answered",
        now=NOW + dt.timedelta(minutes=5),
        capture=django_capture_on_commit_callbacks,
    )
    assert Kind.FIRST_CONVERSATION in kinds(campaign, vera)


def test_a_hundred_and_a_thousand_calls(django_capture_on_commit_callbacks):
    campaign, _ = published_campaign(targets=3)
    vera = make_volunteer(campaign)
    call(campaign, vera, capture=django_capture_on_commit_callbacks)
    VolunteerTally.objects.filter(volunteer=vera).update(calls=99)
    call(
        campaign,
        vera,
        now=NOW + dt.timedelta(minutes=3),
        capture=django_capture_on_commit_callbacks,
    )
    assert {Kind.CALLS_10, Kind.CALLS_100} <= kinds(campaign, vera)
    assert Kind.CALLS_1000 not in kinds(campaign, vera)
    VolunteerTally.objects.filter(volunteer=vera).update(calls=999)
    call(
        campaign,
        vera,
        now=NOW + dt.timedelta(minutes=6),
        capture=django_capture_on_commit_callbacks,
    )
    assert Kind.CALLS_1000 in kinds(campaign, vera)


def test_an_hour_on_the_phones_counts_each_calls_time(django_capture_on_commit_callbacks):
    campaign, _ = published_campaign(targets=3)
    vera = make_volunteer(campaign)
    call(campaign, vera, minutes=35, capture=django_capture_on_commit_callbacks)
    assert Kind.HOUR not in kinds(campaign, vera)
    call(
        campaign,
        vera,
        minutes=25,
        now=NOW + dt.timedelta(hours=1),
        capture=django_capture_on_commit_callbacks,
    )
    assert CallTime.objects.get(volunteer=vera).seconds == 3600
    assert Kind.HOUR in kinds(campaign, vera)


def test_a_recruit_who_calls_earns_their_recruiter_a_badge(django_capture_on_commit_callbacks):
    campaign, _ = published_campaign(targets=3)
    vera, rosa = make_volunteer(campaign), make_volunteer(campaign)
    services.record_referral(campaign, rosa, services.link_for(campaign, vera).code)
    call(campaign, rosa, capture=django_capture_on_commit_callbacks)
    assert kinds(campaign, vera) == {Kind.RECRUIT_CALLED}


def test_counting_a_call_twice_gives_no_badge_twice(django_capture_on_commit_callbacks):
    campaign, _ = published_campaign(targets=2)
    vera = make_volunteer(campaign)
    stored = call(campaign, vera, capture=django_capture_on_commit_callbacks)
    assert momentum.call_counted(stored) == []
    assert Badge.objects.filter(volunteer=vera).count() == 1


def test_badges_show_on_the_volunteers_pages(django_capture_on_commit_callbacks):
    campaign, _ = published_campaign(targets=2)
    vera = make_volunteer(campaign)
    call(campaign, vera, "answered", capture=django_capture_on_commit_callbacks)
    client = Client()
    client.force_login(vera)
    for name in ("sharing:volunteer", "calling:summary", "calling:brief"):
        html = client.get(reverse(name, args=[campaign.public_id])).content.decode()
        assert "First call" in html and "First conversation" in html, name


@pytest.mark.postgres_only
def test_twenty_awards_of_one_badge_at_once_give_one():
    campaign = make_campaign()
    vera = make_volunteer(campaign)
    given = run_at_once(20, lambda i: momentum.award(campaign.pk, vera.pk, Kind.CALLS_10, NOW))
    assert given.count(True) == 1
    assert Badge.objects.filter(volunteer=vera, kind=Kind.CALLS_10).count() == 1


@pytest.mark.postgres_only
def test_ten_recruits_first_calls_at_once_give_each_one_badge_and_their_recruiter_one():
    campaign = make_campaign(targets=12, calling_start=dt.time(0), calling_end=dt.time(0))
    vera = make_volunteer(campaign)
    recruits = [make_volunteer(campaign) for _ in range(10)]
    for recruit in recruits:
        services.record_referral(campaign, recruit, services.link_for(campaign, vera).code)
    leases = [rules.claim_next(campaign, r, now=NOW - dt.timedelta(minutes=2)) for r in recruits]
    assert None not in leases

    run_at_once(10, lambda i: record(campaign, recruits[i], leases[i], "answered", now=NOW))

    for recruit in recruits:
        assert kinds(campaign, recruit) == {Kind.FIRST_CALL, Kind.FIRST_CONVERSATION}
    assert kinds(campaign, vera) == {Kind.RECRUIT_CALLED}
    assert Badge.objects.filter(campaign=campaign).count() == 21


@pytest.mark.postgres_only
def test_the_one_statement_and_the_step_by_step_count_give_the_same_badges_and_time(
    monkeypatch, django_capture_on_commit_callbacks
):
    """PostgreSQL counts each call in one statement; SQLite step by step. The same calls,
    counted each way in a campaign of its own, leave the same rows."""
    results = {}
    for path in ("_count_in_one_statement", "_count_step_by_step"):
        chosen = getattr(momentum, path)
        monkeypatch.setattr(momentum, "_count_in_one_statement", chosen)
        campaign, _ = published_campaign(targets=16)
        vera, rosa = make_volunteer(campaign), make_volunteer(campaign)
        services.record_referral(campaign, rosa, services.link_for(campaign, vera).code)
        for n in range(14):
            who = rosa if n % 4 == 1 else vera
            call(
                campaign,
                who,
                "answered" if n in (5, 8) else "no_answer",
                now=NOW + dt.timedelta(minutes=60 * n),
                minutes=15,
                capture=django_capture_on_commit_callbacks,
            )
        rows = sorted(
            (b.volunteer_id == rosa.pk, b.kind, b.awarded_at)
            for b in Badge.objects.filter(campaign=campaign)
        )
        seconds = sorted(
            (t.volunteer_id == rosa.pk, t.seconds)
            for t in CallTime.objects.filter(campaign=campaign)
        )
        results[path] = (rows, seconds)
    assert results["_count_in_one_statement"] == results["_count_step_by_step"]
    rows, seconds = results["_count_step_by_step"]
    assert (True, Kind.FIRST_CALL, NOW + dt.timedelta(minutes=60)) in rows
    assert (False, Kind.RECRUIT_CALLED, NOW + dt.timedelta(minutes=60)) in rows
    assert {kind for rosa_s, kind, _ in rows if not rosa_s} == {
        Kind.FIRST_CALL,
        Kind.FIRST_CONVERSATION,
        Kind.CALLS_10,
        Kind.HOUR,
        Kind.RECRUIT_CALLED,
    }
    assert seconds == [(False, 10 * 15 * 60), (True, 4 * 15 * 60)]


def test_the_count_returns_the_badges_it_gave_in_milestone_order(
    django_capture_on_commit_callbacks,
):
    campaign, _ = published_campaign(targets=2)
    vera = make_volunteer(campaign)
    lease = rules.claim_next(campaign, vera, now=NOW - dt.timedelta(minutes=70))
    with django_capture_on_commit_callbacks(execute=False):
        stored = record(campaign, vera, lease, "answered", now=NOW)
    assert momentum.call_counted(stored) == [Kind.FIRST_CALL, Kind.FIRST_CONVERSATION, Kind.HOUR]
    assert momentum.call_counted(stored) == []
