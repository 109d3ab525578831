"""The provider's callbacks are believed only when signed by the line's own secret and new:
forged, unsigned, replayed or another team's callbacks are refused and change nothing."""

import pytest
from django.urls import reverse

from ringround.calling import rules
from ringround.telephony import services
from ringround.telephony.models import Leg
from ringround.telephony.providers import request_signature
from tests.factories import make_organiser, make_team, make_volunteer, open_campaign
from tests.telephony.bridge import SITE, Behaviour, bridge_line, start_fake

pytestmark = pytest.mark.django_db

VOLUNTEER = "+441134960556"


@pytest.fixture
def fake(monkeypatch, settings):
    fake = start_fake(monkeypatch, settings)
    yield fake
    fake.stop()


@pytest.fixture
def leg(fake):
    campaign = open_campaign(targets=1)
    bridge_line(campaign.team, fake)
    services.set_dialing(campaign, connected=True, mode="preview")
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer)
    fake.behave(VOLUNTEER, Behaviour(answer="human", ring_seconds=1, talk_seconds=3600))
    fake.behave(lease.contact.phone, Behaviour(answer="human", ring_seconds=2, talk_seconds=30))
    services.join_line(campaign, volunteer, VOLUNTEER, base=SITE)
    fake.advance(1)
    return services.dial_contact(services.live_seat(campaign, volunteer), lease, base=SITE)


def _status_url(leg) -> str:
    return reverse("telephony:leg_status", args=[leg.public_id])


def _completed(leg) -> dict:
    return {
        "CallSid": leg.call_sid,
        "AccountSid": "AC" + "0" * 32,
        "CallStatus": "completed",
        "CallDuration": "999",
    }


def test_an_unsigned_callback_is_refused(leg, client):
    response = client.post(_status_url(leg), _completed(leg))
    assert response.status_code == 403
    leg.refresh_from_db()
    assert leg.status != "completed" and leg.duration is None


def test_a_forged_signature_is_refused(leg, client):
    params = _completed(leg)
    signature = request_signature("not the line's token", SITE + _status_url(leg), params)
    response = client.post(_status_url(leg), params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403
    leg.refresh_from_db()
    assert leg.duration is None


def test_a_signed_callback_with_a_changed_parameter_is_refused(fake, leg, client):
    params = _completed(leg)
    signature = request_signature(fake.auth_token, SITE + _status_url(leg), params)
    params["CallDuration"] = "5"
    response = client.post(_status_url(leg), params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403


def test_a_replayed_callback_is_refused(fake, leg, client):
    fake.advance(40)
    leg.refresh_from_db()
    assert leg.status == "completed" and leg.duration == 30
    url, params, signature, status = next(
        sent
        for sent in fake.delivered.sent
        if sent[0].endswith(_status_url(leg)) and sent[1]["CallStatus"] == "completed"
    )
    assert status == 200
    path = url.removeprefix(SITE)
    response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403 and b"replayed" in response.content


def test_a_replay_of_an_earlier_status_cannot_reopen_an_ended_call(fake, leg, client):
    fake.advance(40)
    url, params, signature, _ = next(
        sent
        for sent in fake.delivered.sent
        if sent[0].endswith(_status_url(leg)) and sent[1]["CallStatus"] == "in-progress"
    )
    client.post(url.removeprefix(SITE), params, HTTP_X_TWILIO_SIGNATURE=signature)
    leg.refresh_from_db()
    assert leg.status == "completed"


def test_another_teams_line_cannot_sign_for_this_one(monkeypatch, leg, client):
    other = make_team("Elsewhere")
    monkeypatch.setenv("RINGROUND_OTHER_TEAM_TOKEN", "the other team's secret")
    services.configure_line(
        other,
        provider="bridge",
        caller_id="+442079460111",
        caller_name="Elsewhere",
        account_sid="AC" + "1" * 32,
        token_variable="RINGROUND_OTHER_TEAM_TOKEN",
        by=make_organiser(other),
    )
    params = _completed(leg)
    signature = request_signature("the other team's secret", SITE + _status_url(leg), params)
    response = client.post(_status_url(leg), params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403
    leg.refresh_from_db()
    assert leg.duration is None


def test_an_unknown_leg_is_not_found_and_a_get_is_not_allowed(leg, client):
    assert client.post(reverse("telephony:leg_status", args=["nope"]), {}).status_code == 404
    assert client.get(_status_url(leg)).status_code == 405


def test_no_callback_is_believed_for_a_team_on_own_phones(client):
    campaign = open_campaign(targets=1)
    services.configure_line(campaign.team, provider="own_phone")
    leg = Leg.objects.create(campaign=campaign, phone="+442079460001")
    response = client.post(
        _status_url(leg), {"CallStatus": "completed"}, HTTP_X_TWILIO_SIGNATURE="x"
    )
    assert response.status_code == 403
