"""The caller's campaigns, a campaign's survey and outcomes, and the organiser's figures."""

import pytest
from django.core.cache import cache

from ringround.campaigns.models import Membership
from tests.factories import UserFactory, make_organiser, make_team, open_campaign, organiser_of

from .conftest import OUTSIDERS, assert_error, outcome_body, outsider, post, token_client, url

pytestmark = pytest.mark.django_db


def listed(client):
    response = client.get("/api/v1/campaigns")
    assert response.status_code == 200
    return {c["public_id"]: c for c in response.json()}


def test_each_person_lists_only_their_own_campaigns(world):
    other = open_campaign(make_organiser(make_team()), name="Elsewhere")
    volunteer_view = listed(world.client)
    assert set(volunteer_view) == {world.campaign.public_id}
    assert volunteer_view[world.campaign.public_id] == {
        "public_id": world.campaign.public_id,
        "name": world.campaign.name,
        "status": "active",
        "organiser": False,
        "volunteer": "active",
    }
    organiser_view = listed(token_client(world.organiser))
    assert set(organiser_view) == {world.campaign.public_id}
    assert organiser_view[world.campaign.public_id]["organiser"] is True
    assert organiser_view[world.campaign.public_id]["volunteer"] is None
    assert listed(token_client(UserFactory())) == {}
    assert set(listed(token_client(UserFactory(is_superuser=True)))) == {
        world.campaign.public_id,
        other.public_id,
    }


def test_suspended_volunteer_still_sees_the_campaign_marked_suspended(world):
    Membership.objects.filter(user=world.volunteer).update(status="suspended")
    assert listed(world.client)[world.campaign.public_id]["volunteer"] == "suspended"


def test_campaign_detail_gives_the_survey_and_outcome_codes(world):
    response = world.client.get(url(world.campaign))
    assert response.status_code == 200
    body = response.json()
    question = world.campaign.questions.get()
    assert body["questions"] == [
        {
            "key": question.key,
            "text": "Will you vote?",
            "kind": "yes_no",
            "options": ["Yes", "No"],
            "required": True,
        }
    ]
    codes = [o["code"] for o in body["outcomes"]]
    assert codes[:3] == ["answered", "no_answer", "busy"]
    assert body["outcomes"][0]["is_conversation"] is True


def test_campaign_detail_of_someone_elses_campaign_is_404(world):
    other = open_campaign(make_organiser(make_team()))
    assert_error(world.client.get(url(other)), 404, "not_found")
    assert_error(token_client(organiser_of(other)).get(url(world.campaign)), 404, "not_found")


def test_organiser_sees_live_figures(world):
    cache.clear()  # figures are cached a few seconds by campaign id, which tests reuse
    lease = world.claim().json()
    world.record(outcome_body(lease["lease_token"], "no_answer"))
    world.claim()
    response = token_client(world.organiser).get(url(world.campaign, "stats"))
    assert response.status_code == 200, response.content
    stats = response.json()
    assert stats["total"] == 3
    assert stats["held"] == 1 and stats["waiting"] == 1 and stats["ready"] == 1
    assert stats["calls"] == 1
    assert stats["by_outcome"] == [{"outcome": "No answer", "calls": 1}]
    assert stats["per_volunteer"] == [
        {"volunteer": world.volunteer.name, "calls": 1, "conversations": 0}
    ]
    assert stats["answers"][0]["counts"] == [
        {"option": "Yes", "count": 0},
        {"option": "No", "count": 0},
    ]


def test_admin_sees_any_campaigns_figures(world):
    admin = UserFactory(is_superuser=True)
    assert token_client(admin).get(url(world.campaign, "stats")).status_code == 200


def test_volunteer_may_not_see_the_figures(world):
    assert_error(world.client.get(url(world.campaign, "stats")), 403, "not_an_organiser")


@pytest.mark.parametrize("who", OUTSIDERS)
def test_figures_of_a_campaign_the_caller_cannot_see_are_404(world, who):
    caller = outsider(who)
    assert_error(token_client(caller).get(url(world.campaign, "stats")), 404, "not_found")


def test_calling_endpoints_refuse_get_and_reading_endpoints_refuse_post(world):
    assert world.client.get(url(world.campaign, "claim")).status_code == 405
    assert post(world.client, url(world.campaign, "stats")).status_code == 405
