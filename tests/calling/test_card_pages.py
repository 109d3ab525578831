"""The card's pages answer only GETs: a save, refused or not, redirects (so Back never meets
a form's result); what was entered and what was wrong come back once, beside the field. The
card says "Nobody to call" only when nobody may be called, and why; the summary counts the
real time on calls and the campaign's calls today."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from ringround.calling.models import Call, CallTarget
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import Campaign, Question
from tests.factories import AT_ANY_HOUR, make_campaign, make_volunteer

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    campaign = make_campaign(targets=3, **AT_ANY_HOUR)
    campaign_services.add_question(
        campaign, text="Can we count on your vote?", kind=Question.Kind.YES_NO, required=True
    )
    return campaign


@pytest.fixture
def volunteer(client, campaign):
    volunteer = make_volunteer(campaign)
    client.force_login(volunteer)
    return volunteer


def url(name, campaign):
    return reverse(f"calling:{name}", args=[campaign.public_id])


def start(client, campaign):
    """Press Start; the card's lease token and submission key."""
    html = client.post(url("start", campaign), follow=True).content.decode()
    token = html.split('name="lease_token" value="')[1].split('"')[0]
    key = html.split('name="idempotency_key" value="')[1].split('"')[0]
    return token, key


def save(client, campaign, token, key, outcome, **fields):
    return client.post(
        url("record", campaign),
        {"lease_token": token, "idempotency_key": key, "outcome": outcome, **fields},
    )


@pytest.mark.parametrize("outcome", ["refused", "no_answer", "call_back"])
def test_outcomes_without_the_survey_save_from_the_card_while_a_question_is_required(
    client, campaign, volunteer, outcome
):
    token, key = start(client, campaign)
    response = save(client, campaign, token, key, outcome, then="next")
    assert response.status_code == 302 and response["Location"] == url("card", campaign)
    assert Call.objects.get().answers == {}


def test_a_refused_save_redirects_to_the_card_which_names_the_problem_beside_the_field(
    client, campaign, volunteer
):
    token, key = start(client, campaign)
    question = campaign.questions.get()
    response = save(client, campaign, token, key, "answered", notes="Keen on the ballot.")
    assert response.status_code == 302
    assert response["Location"] == url("card", campaign) + f"#question-{question.key}"
    html = client.get(url("card", campaign)).content.decode()
    assert "Not saved yet. “Can we count on your vote?”: This question needs an answer." in html
    assert f'<p class="errorlist" id="error-{question.key}">This question needs an answer.' in html
    assert 'value="answered" data-follow-up="survey" checked' in html
    assert "Keen on the ballot." in html
    assert f'name="idempotency_key" value="{key}"' in html, "a retry is still the same save"
    assert "autofocus" in html.split(f'id="question-{question.key}"')[1].split("</fieldset>")[0]
    again = client.get(url("card", campaign)).content.decode()
    assert "This question needs an answer." not in again, "shown once, not on every reload"


def test_what_happened_left_unchosen_is_named(client, campaign, volunteer):
    token, key = start(client, campaign)
    response = save(client, campaign, token, key, "")
    assert response["Location"].endswith("#outcome-choices")
    html = client.get(url("card", campaign)).content.decode()
    assert 'id="error-outcome">Unknown outcome.' in html
    assert "Not saved yet. What happened:" in html


def test_a_call_back_time_that_is_not_a_time_is_an_error_only_after_call_back(
    client, campaign, volunteer
):
    token, key = start(client, campaign)
    response = save(client, campaign, token, key, "call_back", callback_at="soon")
    assert response["Location"].endswith("#callback_at")
    assert (
        'id="error-callback_at">Give a date and a time.'
        in client.get(url("card", campaign)).content.decode()
    )
    save(client, campaign, token, key, "no_answer", callback_at="soon")
    assert Call.objects.get().outcome.code == "no_answer"


def test_a_call_back_time_in_the_past_is_named_beside_the_field(client, campaign, volunteer):
    token, key = start(client, campaign)
    past = (timezone.now() - dt.timedelta(days=1)).replace(tzinfo=None)
    save(client, campaign, token, key, "call_back", callback_at=past.isoformat(timespec="minutes"))
    html = client.get(url("card", campaign)).content.decode()
    assert 'id="error-callback_at">Choose a time in the future.' in html
    assert not Call.objects.exists()


def test_an_error_kept_for_one_person_is_not_shown_with_the_next(client, campaign, volunteer):
    token, key = start(client, campaign)
    save(client, campaign, token, key, "answered", notes="About the first person.")
    client.post(url("stop", campaign))
    client.post(url("start", campaign))
    html = client.get(url("card", campaign)).content.decode()
    assert "About the first person." not in html and 'class="errorlist"' not in html


def test_after_a_pause_the_card_offers_the_next_person_instead_of_nobody(
    client, campaign, volunteer
):
    start(client, campaign)
    client.post(url("stop", campaign))
    html = client.get(url("card", campaign)).content.decode()
    assert "Nobody to call" not in html
    assert "You are not holding anyone" in html and "Call the next person" in html


def test_nobody_to_call_when_the_list_is_finished_says_so(client, campaign, volunteer):
    CallTarget.objects.filter(campaign=campaign).update(state="done")
    response = client.post(url("start", campaign), follow=True)
    html = response.content.decode()
    assert "Nobody to call right now" in html and "The list is finished." in html
    assert "Try again" not in html


def test_nobody_to_call_outside_calling_hours_says_until_when(client, volunteer):
    now = timezone.now()
    closed = make_campaign(targets=2, calling_days=str((now.weekday() + 3) % 7))
    make_volunteer(closed, email="other@example.org")
    from ringround.campaigns.models import Membership

    Membership.objects.create(campaign=closed, user=volunteer)
    html = client.post(url("start", closed), follow=True).content.decode()
    assert "It is outside calling hours for everyone left to call." in html
    assert "in their time (Europe/London)" in html and "at 09:00" in html


def test_a_paused_campaign_says_it_is_paused(client, campaign, volunteer):
    Campaign.objects.filter(pk=campaign.pk).update(status="paused")
    html = client.get(url("card", campaign)).content.decode()
    assert "is paused and not taking calls right now" in html


def test_the_summary_counts_the_real_time_on_calls_and_the_campaigns_calls_today(
    client, campaign, volunteer
):
    session = client.session
    session["calling_started"] = {
        campaign.public_id: (timezone.now() - dt.timedelta(hours=1)).isoformat()
    }
    session.save()
    targets = list(CallTarget.objects.filter(campaign=campaign))
    answered = campaign.outcomes.get(code="answered")
    no_answer = campaign.outcomes.get(code="no_answer")
    now = timezone.now()
    for n, (target, outcome, seconds) in enumerate(
        [(targets[0], answered, 150), (targets[1], no_answer, 45)]
    ):
        Call.objects.create(
            campaign=campaign,
            target=target,
            volunteer=volunteer,
            outcome=outcome,
            started_at=now - dt.timedelta(minutes=30 - n, seconds=seconds),
            ended_at=now - dt.timedelta(minutes=30 - n),
            idempotency_key=f"k{n}",
        )
    someone_else = make_volunteer(campaign)
    Call.objects.create(
        campaign=campaign,
        target=targets[2],
        volunteer=someone_else,
        outcome=no_answer,
        started_at=now - dt.timedelta(minutes=5),
        ended_at=now - dt.timedelta(minutes=4),
        idempotency_key="k-other",
    )
    html = client.get(url("summary", campaign)).content.decode()
    assert "<b>2</b>calls" in html and "<b>1</b>conversations" in html
    assert "<b>3 min</b>on the phone" in html  # 150 s + 45 s, not the minutes since Start
    assert "<strong>3</strong> calls made for" in html
