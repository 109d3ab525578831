"""The calling loop over the API: claim, record (idempotently), release, heartbeat; each
endpoint's success and refusals, and who may call which campaign."""

import datetime as dt
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from ringround.api.services import forget_cached_tokens
from ringround.audit.models import AuditEvent
from ringround.calling.models import Call, CallTarget
from ringround.campaigns.models import Campaign, Membership
from tests.factories import UserFactory, make_volunteer, open_campaign

from .conftest import OUTSIDERS, assert_error, outcome_body, outsider, post, token_client, url

pytestmark = pytest.mark.django_db
State = CallTarget.State


def answered(world, lease_token, key="key-1"):
    question = world.campaign.questions.get()
    return outcome_body(lease_token, "answered", key, answers={question.key: "Yes"})


# --- claim -------------------------------------------------------------------------------------


def test_claim_leases_a_contact_and_shows_only_the_campaigns_fields(world):
    response = world.claim()
    assert response.status_code == 200, response.content
    body = response.json()
    target = CallTarget.objects.get(held_by=world.volunteer)
    assert target.state == State.ASSIGNED
    assert set(body["contact"]["fields"]) == {"first_name", "last_name", "area"}
    assert body["contact"]["fields"]["first_name"] == target.contact.first_name
    assert body["contact"]["phone"] == target.contact.phone
    assert body["lease_token"] and body["attempts"] == 0
    assert dt.datetime.fromisoformat(body["expires_at"]) > timezone.now()
    assert response["Content-Type"].startswith("application/json")


def test_every_claim_is_audited_as_a_view_of_personal_data(world):
    world.claim()
    event = AuditEvent.objects.get(action="contact.view")  # once, not once more by the card
    assert event.actor == world.volunteer
    assert event.object_type == "contact"
    assert event.object_id == CallTarget.objects.get(held_by=world.volunteer).contact.public_id
    assert event.campaign_id == world.campaign.pk
    assert event.ip_address == "127.0.0.1"
    assert event.detail == {"fields": world.campaign.fields_for_volunteer()}


def test_claiming_again_shows_the_contact_again_and_audits_it_again(world):
    world.claim()
    world.claim()
    assert AuditEvent.objects.filter(action="contact.view").count() == 2


def test_claiming_again_returns_the_contact_already_held(world):
    first, again = world.claim().json(), world.claim().json()
    assert again["lease_token"] == first["lease_token"]
    assert again["contact"] == first["contact"]
    assert CallTarget.objects.filter(held_by=world.volunteer).count() == 1


def test_claim_answers_204_when_nobody_is_left(db):
    campaign = open_campaign(targets=1)
    first, second = make_volunteer(campaign), make_volunteer(campaign)
    assert post(token_client(first), url(campaign, "claim")).status_code == 200
    response = post(token_client(second), url(campaign, "claim"))
    assert response.status_code == 204
    assert response.content == b""


@pytest.mark.parametrize("status", ["draft", "paused", "finished"])
def test_claim_in_a_campaign_not_taking_calls_is_409(world, status):
    Campaign.objects.filter(pk=world.campaign.pk).update(status=status)
    assert_error(world.claim(), 409, "campaign_not_open")
    assert not CallTarget.objects.filter(held_by__isnull=False).exists()


def test_suspended_volunteer_is_refused_with_403(world):
    Membership.objects.filter(user=world.volunteer).update(status="suspended")
    assert_error(world.claim(), 403, "not_a_volunteer")


def test_organiser_who_has_not_joined_is_told_so_with_403(world):
    assert_error(world.claim(token_client(world.organiser)), 403, "not_a_volunteer")
    assert_error(world.claim(token_client(UserFactory(is_superuser=True))), 403, "not_a_volunteer")


def test_volunteer_going_past_the_hourly_claim_limit_gets_429(world):
    Campaign.objects.filter(pk=world.campaign.pk).update(claims_per_hour=1)
    first = world.claim().json()
    world.record(outcome_body(first["lease_token"]))
    response = world.claim()
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize("who", OUTSIDERS)
@pytest.mark.parametrize("action", ["claim", "outcomes", "release", "heartbeat"])
def test_a_campaign_the_caller_cannot_see_is_404_for_every_calling_endpoint(world, who, action):
    caller = outsider(who)
    response = post(token_client(caller), url(world.campaign, action), outcome_body("x"))
    assert_error(response, 404, "not_found")
    assert_error(post(world.client, url("no-such-id", action), outcome_body("x")), 404, "not_found")


# --- record an outcome -------------------------------------------------------------------------


def test_recording_an_outcome_stores_the_call_and_ends_the_lease(world):
    lease = world.claim().json()
    response = world.record(answered(world, lease["lease_token"]))
    assert response.status_code == 201, response.content
    body = response.json()
    call = Call.objects.get()
    assert body["call_id"] == call.public_id
    assert body["outcome"] == "answered" and body["replayed"] is False
    assert body["lease_lost"] is False
    assert call.answers == {world.campaign.questions.get().key: "Yes"}
    target = CallTarget.objects.get(pk=call.target_id)
    assert target.state == State.DONE and target.held_by is None


def test_retried_submission_with_the_same_key_is_stored_once(world):
    lease = world.claim().json()
    first = world.record(answered(world, lease["lease_token"], key="abc"))
    again = world.record(answered(world, lease["lease_token"], key="abc"))
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["call_id"] == first.json()["call_id"]
    assert again.json()["replayed"] is True
    assert Call.objects.count() == 1
    assert CallTarget.objects.get(pk=Call.objects.get().target_id).attempts == 1


def test_a_second_submission_for_the_same_claim_is_stored_once_whatever_its_key(world):
    lease = world.claim().json()
    first = world.record(outcome_body(lease["lease_token"], key="one"))
    second = world.record(outcome_body(lease["lease_token"], key="two"))
    assert second.status_code == 200
    assert second.json()["call_id"] == first.json()["call_id"]
    assert Call.objects.count() == 1


def test_retry_outcome_schedules_the_contact_again(world):
    lease = world.claim().json()
    later = timezone.now() + dt.timedelta(days=2)
    body = outcome_body(
        lease["lease_token"], "call_back", answers={"q0": "ignored"}, callback_at=later.isoformat()
    )
    body["answers"] = {world.campaign.questions.get().key: "No"}
    response = world.record(body)
    assert response.status_code == 201, response.content
    target = CallTarget.objects.get(pk=Call.objects.get().target_id)
    assert target.state == State.WAITING
    assert abs((target.next_call_at - later).total_seconds()) < 1


def test_unknown_outcome_is_422_and_nothing_is_stored(world):
    lease = world.claim().json()
    body = assert_error(
        world.record(outcome_body(lease["lease_token"], "hung_up")), 422, "invalid_outcome"
    )
    assert "outcome" in body["errors"]
    assert not Call.objects.exists()


def test_missing_required_answer_is_422_naming_the_question(world):
    lease = world.claim().json()
    body = assert_error(
        world.record(outcome_body(lease["lease_token"], "answered")), 422, "invalid_outcome"
    )
    assert list(body["errors"]) == [world.campaign.questions.get().key]
    assert not Call.objects.exists()


def test_missing_idempotency_key_is_422(world):
    lease = world.claim().json()
    assert_error(world.record(outcome_body(lease["lease_token"], key=" ")), 422, "invalid_outcome")
    assert_error(
        world.record(outcome_body(lease["lease_token"], key="k" * 65)), 422, "invalid_outcome"
    )


def test_call_back_in_the_past_is_422(world):
    lease = world.claim().json()
    past = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    body = outcome_body(lease["lease_token"], "no_answer", callback_at=past)
    assert "callback_at" in assert_error(world.record(body), 422, "invalid_outcome")["errors"]


@pytest.mark.parametrize("token", ["", "garbage", "eyJ0IjoxfQ:forged:sig"])
def test_unknown_lease_token_is_400(world, token):
    world.claim()
    assert_error(world.record(outcome_body(token)), 400, "invalid_lease")
    assert not Call.objects.exists()


def test_another_volunteers_lease_token_is_400(world):
    lease = world.claim().json()
    other = token_client(make_volunteer(world.campaign))
    response = post(other, url(world.campaign, "outcomes"), outcome_body(lease["lease_token"]))
    assert_error(response, 400, "invalid_lease")
    assert not Call.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"lease_token": "x", "outcome": "answered"},
        {"lease_token": 5, "outcome": [], "idempotency_key": "k"},
        {"lease_token": "x", "outcome": "a", "idempotency_key": "k", "answers": "Yes"},
        {"lease_token": "x", "outcome": "a", "idempotency_key": "k", "callback_at": "tomorrow"},
    ],
)
def test_malformed_body_is_422_with_the_fields_named(world, body):
    response = world.record(body)
    assert assert_error(response, 422, "invalid_request")["errors"]


def test_body_that_is_not_json_is_a_clear_error(world):
    response = world.client.post(
        url(world.campaign, "outcomes"), "not json", content_type="application/json"
    )
    assert response.status_code in (400, 422)
    assert response.json()["error"]


# --- release and heartbeat --------------------------------------------------------------------


def test_release_hands_the_contact_back_untouched(world):
    world.claim()
    response = post(world.client, url(world.campaign, "release"))
    assert response.status_code == 200 and response.json() == {"released": 1}
    assert CallTarget.objects.filter(state=State.READY, attempts=0).count() == 3
    assert post(world.client, url(world.campaign, "release")).json() == {"released": 0}


def test_heartbeat_extends_the_lease_and_409_once_nobody_is_held(world):
    world.claim()
    response = post(world.client, url(world.campaign, "heartbeat"))
    assert response.status_code == 200
    expires = dt.datetime.fromisoformat(response.json()["expires_at"])
    held_until = CallTarget.objects.get(held_by=world.volunteer).lease_expires_at
    assert abs((held_until - expires).total_seconds()) < 0.001  # JSON keeps milliseconds
    post(world.client, url(world.campaign, "release"))
    assert_error(post(world.client, url(world.campaign, "heartbeat")), 409, "no_lease")


def test_suspended_volunteer_may_still_hand_back_and_record_what_they_hold(world):
    lease = world.claim().json()
    Membership.objects.filter(user=world.volunteer).update(status="suspended")
    assert world.record(outcome_body(lease["lease_token"])).status_code == 201
    assert post(world.client, url(world.campaign, "release")).status_code == 200


# --- session authentication (the pages' login) ---------------------------------------------------


def test_signed_in_session_works_with_the_csrf_token_and_is_refused_without(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.volunteer)
    assert client.get("/api/v1/campaigns").status_code == 200
    assert_error(post(client, url(world.campaign, "claim")), 403, "csrf_failed")
    assert not CallTarget.objects.filter(held_by__isnull=False).exists()

    csrf = "k" * 32  # what a page's csrftoken cookie holds, echoed in the header by the page
    client.cookies["csrftoken"] = csrf
    response = client.post(
        url(world.campaign, "claim"),
        "{}",
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 200, response.content


def test_token_requests_need_no_csrf_token(world):
    client = token_client(world.volunteer)
    client.handler.enforce_csrf_checks = True
    assert world.claim(client).status_code == 200


# --- a database that is down ------------------------------------------------------------------


def test_database_down_is_503_with_retry_after(world):
    with mock.patch("ringround.calling.rules.claim_next", side_effect=OperationalError("gone")):
        response = world.claim()
    body = assert_error(response, 503, "unavailable")
    assert int(response["Retry-After"]) > 0
    assert "try again" in body["message"].lower()


@pytest.mark.parametrize("action", ["claim", "outcomes"])
def test_database_down_while_reading_the_token_is_503_not_500(world, action):
    with mock.patch("ringround.api.services.rawsql.fetch", side_effect=OperationalError("gone")):
        forget_cached_tokens()
        response = world.client.post(url(world.campaign, action), "{}", "application/json")
    assert_error(response, 503, "unavailable")
    assert int(response["Retry-After"]) > 0


def test_database_down_on_a_page_is_503_with_retry_after(world):
    client = Client()
    client.force_login(world.volunteer)
    with mock.patch("ringround.calling.rules.current_lease", side_effect=OperationalError("gone")):
        response = client.get(f"/call/{world.campaign.public_id}/")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize("field", ["notes", "idempotency_key", "outcome", "lease_token", "answers"])
def test_nul_character_in_any_field_is_422_naming_it_and_nothing_is_stored(world, field):
    lease = world.claim().json()
    body = outcome_body(lease["lease_token"], notes="fine")
    body[field] = {"q1": "Ye\x00s"} if field == "answers" else body[field] + "\x00"
    response = world.record(body)
    assert field in assert_error(response, 422, "invalid_request")["errors"]
    assert not Call.objects.exists()


def test_nul_character_in_the_campaign_id_is_a_client_error(world):
    assert post(world.client, url("abc\x00def", "claim")).status_code in (400, 404)
