"""What the services that do things announce (``ringround.events``) reaches the team's
endpoints: only after the work is committed, only through the task worker, only to endpoints
of the team it happened in that take that event, and carrying ids rather than a contact's
details."""

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from ringround.campaigns import services as campaign_services
from ringround.privacy import services as privacy
from ringround.webhooks import tasks
from ringround.webhooks.models import Delivery, Event
from tests.factories import (
    claimed,
    confirm_link,
    make_team,
    open_campaign,
    record,
    sign_up_by_invite,
    the_team,
)
from tests.imports.conftest import import_now, member_rows, write_csv

from .factories import NOON, make_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run what waits for the commit, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_a_recorded_call_goes_out_with_ids_outcome_and_answers_and_no_contact_details(
    receiver, committing
):
    campaign, volunteer, lease = claimed(targets=1, now=NOON)
    question = campaign_services.add_question(campaign, text="Will you vote?", kind="yes_no")
    contact = lease.target.contact
    contact.external_id = "M-00042"
    contact.save(update_fields=["external_id"])
    make_endpoint(campaign.team, receiver.url, events=["call.recorded"])
    elsewhere = make_endpoint(make_team(), receiver.url)

    with committing():
        call = record(
            campaign,
            volunteer,
            lease,
            "answered",
            now=NOON,
            answers={question.key: "Yes"},
            notes="Lives at 12 Acacia Avenue",
        )

    (request,) = receiver.received
    body = request.json
    assert request.headers["Ringround-Event"] == body["type"] == "call.recorded"
    assert body["team"] == campaign.team.public_id
    assert body["data"] == {
        "call": call.public_id,
        "campaign": campaign.public_id,
        "volunteer": volunteer.public_id,
        "contact": {"id": contact.public_id, "external_id": "M-00042"},
        "outcome": "answered",
        "answers": {question.key: "Yes"},
        "started_at": call.started_at.isoformat(),
        "ended_at": call.ended_at.isoformat(),
    }
    text = request.body.decode()
    for detail in (contact.first_name, contact.last_name, contact.phone[3:], "Acacia"):
        assert detail not in text
    assert not Delivery.objects.filter(endpoint=elsewhere).exists(), "another team's endpoint"


def test_a_retried_submit_announces_the_call_once(receiver, committing):
    campaign, volunteer, lease = claimed(targets=2, now=NOON)
    make_endpoint(campaign.team, receiver.url)

    with committing():
        record(campaign, volunteer, lease, "no_answer", now=NOON, key="k-1")
        record(campaign, volunteer, lease, "no_answer", now=NOON, key="k-1")

    assert [r.json["type"] for r in receiver.received] == ["call.recorded"]


def test_nothing_goes_out_for_work_that_is_rolled_back(receiver, committing):
    campaign, volunteer, lease = claimed(targets=1, now=NOON)
    make_endpoint(campaign.team, receiver.url)

    with committing(), pytest.raises(RuntimeError), transaction.atomic():
        record(campaign, volunteer, lease, "no_answer", now=NOON)
        raise RuntimeError("the request failed after storing the call")

    assert receiver.received == [] and not Event.objects.exists()


def test_the_volunteers_request_only_queues_a_task_and_sends_nothing(
    receiver, committing, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    campaign, volunteer, lease = claimed(targets=1, now=NOON)
    make_endpoint(campaign.team, receiver.url)

    with committing():
        call = record(campaign, volunteer, lease, "no_answer", now=NOON)

    assert receiver.received == [] and not Event.objects.exists()
    (queued,) = DBTaskResult.objects.all()
    assert queued.task_path == tasks.publish_event.module_path
    assert queued.args_kwargs["args"] == ["call.recorded", call.pk]


def test_a_team_without_endpoints_queues_nothing(committing, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    campaign, volunteer, lease = claimed(targets=1, now=NOON)
    make_endpoint(make_team(), "https://example.org/hook")  # another team listens

    with committing():
        record(campaign, volunteer, lease, "no_answer", now=NOON)

    assert not DBTaskResult.objects.exists()


def test_do_not_call_again_announces_the_suppression_with_the_teams_contacts(receiver, committing):
    campaign, volunteer, lease = claimed(targets=1, now=NOON)
    contact = lease.target.contact
    make_endpoint(campaign.team, receiver.url, events=["contact.suppressed"])

    with committing():
        record(campaign, volunteer, lease, "do_not_call", now=NOON)

    (request,) = receiver.received
    data = request.json["data"]
    assert request.json["type"] == "contact.suppressed"
    assert data["contacts"] == [
        {"id": contact.public_id, "external_id": contact.external_id or None}
    ]
    assert data["reason"] == "requested" and data["every_team"] is False
    assert data["campaign"] == campaign.public_id
    assert contact.phone[3:] not in request.body.decode()


def test_a_volunteer_is_announced_once_they_may_call(receiver, committing, client):
    campaign = open_campaign()
    make_endpoint(campaign.team, receiver.url, events=["volunteer.joined"])

    with committing():
        volunteer = sign_up_by_invite(client, campaign, confirm=False)
    assert receiver.received == [], "not yet: their email is unconfirmed"

    with committing():
        client.post(confirm_link(volunteer.email))

    (request,) = receiver.received
    assert request.json["type"] == "volunteer.joined"
    assert request.json["data"]["volunteer"] == volunteer.public_id
    assert request.json["data"]["campaign"] == campaign.public_id
    assert volunteer.email not in request.body.decode()


def test_a_finished_import_is_announced_with_its_counts(receiver, committing, tmp_path):
    make_endpoint(the_team(), receiver.url, events=["import.finished"])

    with committing():
        job = import_now(write_csv(tmp_path / "members.csv", member_rows(3)))

    (request,) = receiver.received
    data = request.json["data"]
    assert request.json["type"] == "import.finished"
    assert data["import"] == job.public_id and data["status"] == "done"
    assert data["counts"]["created"] == 3 and data["counts"]["read"] == 3


def test_an_endpoint_gets_only_the_events_it_takes(receiver, committing):
    campaign, volunteer, lease = claimed(targets=1, now=NOON)
    make_endpoint(campaign.team, receiver.url, events=["import.finished"])

    with committing():
        record(campaign, volunteer, lease, "do_not_call", now=NOON)

    assert receiver.received == [] and not Event.objects.exists()


def test_erasing_a_contact_forgets_the_events_that_name_them(receiver, committing):
    campaign, volunteer, lease = claimed(targets=2, now=NOON)
    question = campaign_services.add_question(campaign, text="Why?", kind="text")
    contact = lease.target.contact
    make_endpoint(campaign.team, receiver.url, events=["call.recorded"])
    with committing():
        record(campaign, volunteer, lease, "answered", now=NOON, answers={question.key: "M-1"})
    other = campaign.targets.exclude(contact=contact).get().contact
    Event.objects.create(team=campaign.team, kind="call.recorded", payload={"x": other.public_id})
    assert Event.objects.filter(payload__icontains=contact.public_id).exists()

    privacy.erase_contact(contact)

    assert not Event.objects.filter(payload__icontains=contact.public_id).exists()
    assert not Delivery.objects.filter(event__payload__icontains=contact.public_id).exists()
    assert Event.objects.filter(payload__icontains=other.public_id).exists(), "others kept"
