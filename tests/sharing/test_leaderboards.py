"""Leaderboards: equal to a recount of the calls, by conversations or time on calls, with
hidden names hidden; the counter on the volunteer's card."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from ringround.sharing import momentum, services
from ringround.sharing.models import RecruitmentPage
from tests.factories import make_volunteer
from tests.sharing.helpers import NOW, call, published_campaign

pytestmark = pytest.mark.django_db
Ranking = RecruitmentPage.Ranking


@pytest.fixture
def evening(django_capture_on_commit_callbacks):
    """Four volunteers, calls of seeded lengths and outcomes."""
    import random

    campaign, organiser = published_campaign(targets=30)
    people = [make_volunteer(campaign, name=n) for n in ("Vera", "Rosa", "Sam", "Tom")]
    services.record_referral(campaign, people[1], services.link_for(campaign, people[0]).code)
    services.record_referral(campaign, people[2], services.link_for(campaign, people[0]).code)
    moment = NOW
    for _ in range(24):
        who = random.choice(people)
        moment += dt.timedelta(minutes=random.randint(1, 5))
        code = random.choice(["answered", "no_answer", "refused", "busy"])
        call(
            campaign,
            who,
            code,
            now=moment,
            minutes=random.randint(1, 20),
            capture=django_capture_on_commit_callbacks,
        )
    return campaign, organiser, people


@pytest.mark.parametrize("by", [Ranking.CONVERSATIONS, Ranking.TIME])
def test_the_leaderboard_equals_a_recount_of_the_calls(evening, by):
    campaign, _, people = evening
    board = momentum.leaderboard(campaign, by, cached=False)
    recount = momentum.recount(campaign)[by]
    expected = sorted(recount.items(), key=lambda kv: (-kv[1], kv[0]))
    assert [(r["user_id"], r["score"]) for r in board["volunteers"]] == expected
    vera, rosa, sam, _ = people
    team = recount.get(vera.pk, 0) + recount.get(rosa.pk, 0) + recount.get(sam.pk, 0)
    assert board["teams"][0] == {"leader_id": vera.pk, "name": "Vera's team", "score": team}


def test_a_hidden_name_is_hidden_everywhere_on_the_board(evening):
    campaign, organiser, people = evening
    vera = people[0]
    client = Client()
    client.force_login(vera)
    client.post(reverse("sharing:hide_name", args=[campaign.public_id]), {"hide": "1"})
    board = momentum.leaderboard(campaign, Ranking.TIME)
    [row] = [r for r in board["volunteers"] if r["user_id"] == vera.pk]
    assert row["name"] == "A volunteer" and row["hidden"]
    assert all("Vera" not in r["name"] for r in board["volunteers"] + board["teams"])
    client.force_login(people[3])
    html = client.get(reverse("sharing:volunteer", args=[campaign.public_id])).content.decode()
    board_html = html[html.index('class="card leaderboard"') :]
    assert "Vera" not in board_html and "A volunteer" in board_html


def test_organisers_choose_what_the_board_ranks_by(evening):
    campaign, organiser, _ = evening
    client = Client()
    client.force_login(organiser)
    response = client.post(
        reverse("sharing:organiser", args=[campaign.public_id]),
        {
            "save_page": "1",
            "page-published": "on",
            "page-ranking": "time",
            "page-headline": "",
            "page-about": "",
        },
    )
    assert response.status_code == 302
    assert momentum.leaderboard(campaign)["by"] == Ranking.TIME


def test_the_card_shows_the_campaign_wide_counter(evening):
    campaign, _, people = evening
    from ringround.calling import rules

    vera = people[0]
    rules.claim_next(campaign, vera)
    client = Client()
    client.force_login(vera)
    html = client.get(reverse("calling:card", args=[campaign.public_id])).content.decode()
    assert 'class="campaign-counter"' in html
    figures = momentum.counter(campaign)
    assert f"<strong>{figures['week']}</strong> this week" in html


def test_the_counter_counts_a_call_at_once_though_it_is_cached(django_capture_on_commit_callbacks):
    from django.utils import timezone

    campaign, _ = published_campaign(targets=3)
    vera = make_volunteer(campaign)
    now = timezone.now() + dt.timedelta(minutes=2)  # after the contacts became callable
    before = momentum.counter(campaign, now)
    call(campaign, vera, now=now, capture=django_capture_on_commit_callbacks)
    after = momentum.counter(campaign, now)
    assert after == {"tonight": before["tonight"] + 1, "week": before["week"] + 1}
    from django.core.cache import cache

    cache.clear()
    assert momentum.counter(campaign, now) == after  # the sum from the tallies agrees


def test_time_on_calls_is_shown_as_people_say_it(evening):
    campaign, organiser, _ = evening
    services.save_page(campaign, by=organiser, ranking=Ranking.TIME)
    client = Client()
    client.force_login(organiser)
    html = client.get(reverse("sharing:organiser", args=[campaign.public_id])).content.decode()
    board = html[html.index('class="board-volunteers"') :]
    assert " min</span>" in board.split("</ol>")[0]
