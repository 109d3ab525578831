"""Practice calls: the real card with made-up people, checked by the real rules, storing
nothing, open to any member (also one still waiting to be let in)."""

import pytest
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.calling.models import Call, CallTarget
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import Campaign, Membership
from tests.factories import make_volunteer, open_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    campaign = open_campaign(targets=2, script="Hello {{ first_name }}, this is a practice.")
    campaign_services.add_question(campaign, text="Will you vote?", kind="yes_no", required=True)
    return campaign


def practise(client, campaign, **params):
    return client.get(reverse("calling:practise", args=[campaign.public_id]), params)


def save(client, campaign, **data):
    return client.post(reverse("calling:practise_save", args=[campaign.public_id]), data)


def nothing_stored(campaign):
    targets = list(CallTarget.objects.filter(campaign=campaign).values_list("state", "held_by"))
    return (
        not Call.objects.exists()
        and not AuditEvent.objects.filter(action="contact.view").exists()
        and all(state == "ready" and held is None for state, held in targets)
    )


def test_the_practice_card_shows_a_made_up_person_with_the_script(client, campaign):
    client.force_login(make_volunteer(campaign))
    page = practise(client, campaign).content.decode()
    assert "Practice call" in page and "Sam Practice" in page
    assert "Hello Sam, this is a practice." in page
    assert 'href="tel:' not in page, "nothing to dial"
    assert nothing_stored(campaign)


def test_no_answer_saves_in_practice_without_the_survey_and_stores_nothing(client, campaign):
    client.force_login(make_volunteer(campaign))
    response = save(client, campaign, person="0", outcome="no_answer", then="next")
    assert response.status_code == 302 and response["Location"].endswith("?person=1")
    page = client.get(response["Location"]).content.decode()
    assert "would be saved now" in page and "Priya Example" in page
    assert nothing_stored(campaign)


def test_a_practice_call_is_refused_as_a_real_one_would_be(client, campaign):
    client.force_login(make_volunteer(campaign))
    response = save(client, campaign, person="2", outcome="answered", then="next")
    assert response.status_code == 302 and "?person=2#question-" in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert "This question needs an answer." in page and "Tomasz Sample" in page
    question = campaign.questions.get()
    ok = save(client, campaign, person="2", outcome="answered", **{question.key: "Yes"})
    assert ok["Location"].endswith("?person=3")
    assert save(client, campaign, person="0", outcome="nonsense").status_code == 302
    assert nothing_stored(campaign)


def test_a_volunteer_waiting_for_approval_may_practise_but_not_call(client, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(joining=Campaign.Joining.APPROVE)
    volunteer = make_volunteer(campaign)
    Membership.objects.filter(user=volunteer).update(status=Membership.Status.PENDING_APPROVAL)
    client.force_login(volunteer)
    brief = client.get(reverse("calling:brief", args=[campaign.public_id])).content.decode()
    assert "practise on a made-up person" in brief
    assert practise(client, campaign).status_code == 200
    client.post(reverse("calling:start", args=[campaign.public_id]))
    assert not CallTarget.objects.filter(held_by=volunteer).exists()


def test_a_forged_person_number_wraps_round_the_made_up_people(client, campaign):
    client.force_login(make_volunteer(campaign))
    assert "Sam Practice" in practise(client, campaign, person="8").content.decode()
    assert "Sam Practice" in practise(client, campaign, person="-1x").content.decode()
