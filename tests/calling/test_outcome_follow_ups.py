"""What follows each outcome: the survey only after a conversation the organisers say it
follows, a call-back time only after "Call back", nothing after "No answer". A required
question is required only where the survey follows, so nobody invents answers to save a
refusal (issue 11: invented answers reached the results and the export)."""

import datetime as dt

import pytest
from django.urls import reverse

from ringround.calling import rules
from ringround.calling.models import Call, CallTarget
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import OutcomeCode, Question
from tests.factories import claimed, organiser_of, record

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2027, 6, 1, 11, 0, tzinfo=dt.UTC)
FollowUp = OutcomeCode.FollowUp


@pytest.fixture
def call():
    """A campaign with a required question, and a volunteer holding one person."""
    campaign, volunteer, lease = claimed(targets=2, now=NOON)
    question = campaign_services.add_question(
        campaign, text="Can we count on your vote?", kind=Question.Kind.YES_NO, required=True
    )
    return campaign, volunteer, lease, question


def test_default_outcomes_say_what_follows_them(call):
    campaign = call[0]
    follow_ups = dict(campaign.outcomes.values_list("code", "follow_up"))
    assert follow_ups == {
        "answered": FollowUp.SURVEY,
        "call_back": FollowUp.CALL_BACK,
        "refused": FollowUp.NOTHING,
        "no_answer": FollowUp.NOTHING,
        "busy": FollowUp.NOTHING,
        "voicemail": FollowUp.NOTHING,
        "wrong_number": FollowUp.NOTHING,
        "do_not_call": FollowUp.NOTHING,
    }


@pytest.mark.parametrize("code", ["refused", "no_answer", "call_back", "busy"])
def test_outcome_the_survey_does_not_follow_is_saved_without_the_required_answer(call, code):
    campaign, volunteer, lease, _ = call
    stored = record(campaign, volunteer, lease, code, now=NOON + dt.timedelta(minutes=2))
    assert Call.objects.get() == stored and stored.answers == {}


@pytest.mark.parametrize("code", ["refused", "no_answer", "call_back"])
def test_answers_sent_with_an_outcome_the_survey_does_not_follow_are_not_stored(call, code):
    campaign, volunteer, lease, question = call
    stored = record(
        campaign, volunteer, lease, code, now=NOON, answers={question.key: "Yes"}, notes="Cross."
    )
    assert stored.answers == {} and stored.notes == "Cross."


def test_required_question_is_still_required_where_the_survey_follows(call):
    campaign, volunteer, lease, question = call
    with pytest.raises(rules.InvalidOutcome) as refused:
        record(campaign, volunteer, lease, "answered", now=NOON)
    assert refused.value.errors == {question.key: "This question needs an answer."}
    assert not Call.objects.exists()
    stored = record(campaign, volunteer, lease, "answered", now=NOON, answers={question.key: "No"})
    assert stored.answers == {question.key: "No"}


def test_organisers_can_make_the_survey_follow_a_custom_outcome(call):
    campaign, volunteer, lease, question = call
    campaign_services.add_outcome(
        campaign,
        OutcomeCode(
            code="spoke_to_partner",
            label="Spoke to partner",
            is_conversation=True,
            follow_up=FollowUp.SURVEY,
        ),
    )
    with pytest.raises(rules.InvalidOutcome):
        record(campaign, volunteer, lease, "spoke_to_partner", now=NOON)
    stored = record(
        campaign, volunteer, lease, "spoke_to_partner", now=NOON, answers={question.key: "Yes"}
    )
    assert stored.answers == {question.key: "Yes"}


def test_call_back_keeps_the_time_arranged(call):
    campaign, volunteer, lease, _ = call
    evening = NOON + dt.timedelta(hours=7)
    record(campaign, volunteer, lease, "call_back", now=NOON, callback_at=evening)
    assert CallTarget.objects.get(pk=lease.target.pk).next_call_at == evening


def test_a_time_sent_with_an_outcome_it_does_not_follow_leaves_the_retry_rule_alone(call):
    campaign, volunteer, lease, _ = call
    record(
        campaign,
        volunteer,
        lease,
        "no_answer",
        now=NOON,
        callback_at=NOON + dt.timedelta(days=5),
    )
    target = CallTarget.objects.get(pk=lease.target.pk)
    assert target.next_call_at == NOON + dt.timedelta(minutes=240)  # No answer's own rule


def test_a_call_back_time_already_past_is_refused_naming_the_field(call):
    campaign, volunteer, lease, _ = call
    with pytest.raises(rules.InvalidOutcome) as refused:
        record(
            campaign,
            volunteer,
            lease,
            "call_back",
            now=NOON,
            callback_at=NOON - dt.timedelta(minutes=1),
        )
    assert refused.value.errors == {"callback_at": "Choose a time in the future."}
    assert not Call.objects.exists()


def test_organiser_sets_what_follows_an_outcome_but_not_the_survey_without_a_conversation(
    client, call
):
    campaign = call[0]
    client.force_login(organiser_of(campaign))
    refused = campaign.outcomes.get(code="refused")
    url = reverse("campaigns:outcome", args=[campaign.public_id, refused.pk])
    form = {"label": "Refused", "code": "refused", "max_attempts": 1}
    response = client.post(url, {**form, "follow_up": FollowUp.SURVEY})
    assert "The survey follows only an outcome where the person was reached." in (
        response.content.decode()
    )
    client.post(url, {**form, "is_conversation": "on", "follow_up": FollowUp.SURVEY})
    refused.refresh_from_db()
    assert refused.follow_up == FollowUp.SURVEY
