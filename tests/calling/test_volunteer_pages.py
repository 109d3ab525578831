"""The volunteer's pages: join, start, one person at a time, no way back, summary."""

import pytest
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.calling.models import Call, CallTarget
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import Membership
from tests.factories import AT_ANY_HOUR, UserFactory, make_campaign, sign_up_by_invite

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    campaign = make_campaign(targets=3, **AT_ANY_HOUR)
    campaign_services.add_question(campaign, text="Will you vote?", kind="yes_no", required=True)
    return campaign


def join(client, campaign):
    """Sign up through the invite link, confirm the email and sign in."""
    sign_up_by_invite(client, campaign)
    return Membership.objects.get(campaign=campaign, user__email="vera@example.org").user


def card_fields(response):
    html = response.content.decode()
    token = html.split('name="lease_token" value="')[1].split('"')[0]
    key = html.split('name="idempotency_key" value="')[1].split('"')[0]
    return token, key


def start_calling(client, campaign):
    """Press Start; the lease token and submission key of the person handed out."""
    return card_fields(
        client.post(reverse("calling:start", args=[campaign.public_id]), follow=True)
    )


def test_volunteer_joins_calls_and_sees_only_the_leased_contact(client, campaign):
    volunteer = join(client, campaign)
    response = client.post(reverse("calling:start", args=[campaign.public_id]), follow=True)
    held = CallTarget.objects.get(held_by=volunteer)
    html = response.content.decode()
    assert held.contact.first_name in html
    assert f'href="tel:{held.contact.phone}"' in html
    others = CallTarget.objects.exclude(pk=held.pk).select_related("contact")
    for other in others:
        assert other.contact.phone not in html
    assert (
        response["Cache-Control"].startswith("max-age=0")
        and "no-store" in response["Cache-Control"]
    )
    assert AuditEvent.objects.filter(
        action="contact.view", actor=volunteer, object_id=held.contact.public_id
    ).exists()


def test_recording_an_outcome_loads_the_next_person_and_never_the_last(client, campaign):
    join(client, campaign)
    first = client.post(reverse("calling:start", args=[campaign.public_id]), follow=True)
    token, key = card_fields(first)
    question = campaign.questions.get()
    response = client.post(
        reverse("calling:record", args=[campaign.public_id]),
        {
            "lease_token": token,
            "idempotency_key": key,
            "outcome": "answered",
            question.key: "Yes",
            "then": "next",
        },
        follow=True,
    )
    call = Call.objects.get()
    assert call.answers == {question.key: "Yes"}
    first_name = call.target.contact.phone
    assert first_name not in response.content.decode()
    again = client.get(reverse("calling:card", args=[campaign.public_id]))
    assert call.target.contact.phone not in again.content.decode()


def test_double_submit_stores_one_call(client, campaign):
    join(client, campaign)
    token, key = start_calling(client, campaign)
    data = {"lease_token": token, "idempotency_key": key, "outcome": "no_answer", "then": "stop"}
    client.post(reverse("calling:record", args=[campaign.public_id]), data)
    client.post(reverse("calling:record", args=[campaign.public_id]), data)
    assert Call.objects.count() == 1


def test_missing_required_answer_keeps_the_contact_and_stores_nothing(client, campaign):
    join(client, campaign)
    token, key = start_calling(client, campaign)
    response = client.post(
        reverse("calling:record", args=[campaign.public_id]),
        {"lease_token": token, "idempotency_key": key, "outcome": "answered", "notes": "keen"},
    )
    question = campaign.questions.get()
    card = reverse("calling:card", args=[campaign.public_id])
    assert response.status_code == 302 and response["Location"] == f"{card}#question-{question.key}"
    html = client.get(card).content.decode()
    assert "This question needs an answer." in html
    assert "keen" in html
    assert Call.objects.count() == 0
    assert CallTarget.objects.filter(state="assigned").count() == 1


def test_stop_hands_the_contact_back_and_shows_summary(client, campaign):
    volunteer = join(client, campaign)
    token, key = start_calling(client, campaign)
    client.post(
        reverse("calling:record", args=[campaign.public_id]),
        {"lease_token": token, "idempotency_key": key, "outcome": "busy", "then": "next"},
    )
    response = client.post(reverse("calling:stop", args=[campaign.public_id]), follow=True)
    assert not CallTarget.objects.filter(held_by=volunteer).exists()
    html = response.content.decode()
    assert "Your session on" in html and "<b>1</b>calls" in html


def test_heartbeat_extends_the_lease_and_reports_a_lost_one(client, campaign):
    volunteer = join(client, campaign)
    client.post(reverse("calling:start", args=[campaign.public_id]))
    target = CallTarget.objects.get(held_by=volunteer)
    before = target.lease_expires_at
    ok = client.post(reverse("calling:heartbeat", args=[campaign.public_id]))
    target.refresh_from_db()
    assert ok.status_code == 200 and target.lease_expires_at >= before
    client.post(reverse("calling:stop", args=[campaign.public_id]))
    lost = client.post(reverse("calling:heartbeat", args=[campaign.public_id]))
    assert lost.status_code == 409


def test_non_member_cannot_open_calling_pages(client, campaign):
    client.force_login(UserFactory())
    for name in ("brief", "card", "summary"):
        assert client.get(reverse(f"calling:{name}", args=[campaign.public_id])).status_code == 404
    assert client.post(reverse("calling:start", args=[campaign.public_id])).status_code == 404
    assert not CallTarget.objects.filter(state="assigned").exists()


def test_forged_lease_token_is_refused(client, campaign):
    join(client, campaign)
    token, key = start_calling(client, campaign)
    response = client.post(
        reverse("calling:record", args=[campaign.public_id]),
        {"lease_token": token[:-3] + "abc", "idempotency_key": key, "outcome": "answered"},
        follow=True,
    )
    assert "not yours to record" in response.content.decode()
    assert Call.objects.count() == 0


def test_call_back_time_typed_in_local_time_is_stored_in_utc(client, campaign):
    import datetime as dt

    from django.utils import timezone

    join(client, campaign)
    token, key = start_calling(client, campaign)
    local = (timezone.now() + dt.timedelta(days=2)).replace(second=0, microsecond=0, tzinfo=None)
    client.post(
        reverse("calling:record", args=[campaign.public_id]),
        {
            "lease_token": token,
            "idempotency_key": key,
            "outcome": "call_back",
            campaign.questions.get().key: "Yes",
            "callback_at": local.isoformat(timespec="minutes"),
            "tz_offset": "-60",
            "then": "stop",
        },
    )
    target = Call.objects.get().target
    assert target.state == "waiting"
    assert target.next_call_at == (local - dt.timedelta(minutes=60)).replace(tzinfo=dt.UTC)
