"""Sources and purposes: each import of contacts records where its people came from, on what
lawful basis and for what purpose. People from the full electoral register are refused by a
campaign that is not electoral, and erased on their source's destruction date."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.calling import targets as call_targets
from ringround.calling.models import CallTarget
from ringround.compliance import services
from ringround.compliance.models import DataSource
from ringround.contacts.models import Contact
from ringround.imports import services as import_services
from ringround.imports.models import Import
from ringround.privacy.services import destroy_register_data, is_erased
from tests.compliance.world import NOON
from tests.factories import make_campaign, make_organiser, make_team, the_team
from tests.imports.conftest import csv_bytes, member_rows, write_csv

pytestmark = pytest.mark.django_db

DESTROY_BY = dt.date(2027, 7, 1)


def register_people(team, *phones, label="import:register1"):
    services.record_source(
        team, label=label, name="register.csv", kind="electoral_register",
        lawful_basis="public_task", purpose="By-election", destroy_by=DESTROY_BY, now=NOON,
    )  # fmt: skip
    return [
        Contact.objects.create(team=team, phone=phone, source=label, first_name="Voter")
        for phone in phones
    ]


def members(team, *phones):
    return [
        Contact.objects.create(team=team, phone=phone, source="import:members", first_name="M")
        for phone in phones
    ]


def test_register_people_are_refused_by_a_campaign_that_is_not_electoral():
    team = the_team()
    register_people(team, "+447700900001")
    members(team, "+447700900002")
    campaign = make_campaign()

    call_targets.add_contacts(campaign, Contact.objects.filter(team=team))

    assert list(campaign.targets.values_list("phone", flat=True)) == ["+447700900002"]


def test_an_electoral_campaign_may_call_them():
    team = the_team()
    register_people(team, "+447700900001")
    campaign = make_campaign(electoral=True)

    call_targets.add_contacts(campaign, Contact.objects.filter(team=team))

    assert list(campaign.targets.values_list("phone", flat=True)) == ["+447700900001"]


def test_a_campaign_made_not_electoral_stops_calling_them(client):
    team = the_team()
    register_people(team, "+447700900001")
    campaign = make_campaign(electoral=True)
    call_targets.add_contacts(campaign, Contact.objects.filter(team=team))
    organiser = campaign.team.members.first().user
    client.force_login(organiser)
    page = client.get(reverse("campaigns:edit", args=[campaign.public_id]))
    form = page.context["form"]
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name != "electoral"
    }
    data["calling_days"] = list(campaign.calling_days)

    response = client.post(reverse("campaigns:edit", args=[campaign.public_id]), data)

    assert response.status_code == 302
    assert campaign.targets.get().state == CallTarget.State.SUPPRESSED


def test_another_teams_register_does_not_touch_this_team():
    register_people(make_team("Elsewhere"), "+447700900001", label="import:elsewhere")
    members(the_team(), "+447700900001")
    campaign = make_campaign()

    call_targets.add_contacts(campaign, Contact.objects.filter(team=the_team()))

    assert campaign.targets.count() == 1


def test_register_people_are_erased_on_their_date_and_not_before():
    team = the_team()
    (voter,) = register_people(team, "+447700900001")
    (member,) = members(team, "+447700900002")
    day_before = dt.datetime(2027, 6, 30, 23, 0, tzinfo=dt.UTC)

    assert destroy_register_data(now=day_before) == 0
    assert destroy_register_data(now=dt.datetime(2027, 7, 1, 6, 0, tzinfo=dt.UTC)) == 1

    voter.refresh_from_db()
    member.refresh_from_db()
    assert is_erased(voter) and not is_erased(member)
    source = DataSource.objects.get(label="import:register1")
    assert source.destroyed_at is not None
    event = AuditEvent.objects.get(action="privacy.register_destroyed")
    assert event.detail["erased"] == 1
    assert destroy_register_data(now=dt.datetime(2027, 7, 2, tzinfo=dt.UTC)) == 0


def test_an_import_records_its_source(tmp_path):
    path = write_csv(tmp_path / "members.csv", member_rows(2))
    source = {
        "source_kind": "membership",
        "lawful_basis": "contract",
        "purpose": "Members' ballot",
        "destroy_by": None,
    }
    job = import_services.create_import(path=path, team=the_team(), source=source)

    assert (job.source_kind, job.lawful_basis, job.purpose) == (
        "membership",
        "contract",
        "Members' ballot",
    )
    recorded = DataSource.objects.get(label=job.source_label)
    assert (recorded.kind, recorded.team, recorded.name) == (
        "membership",
        the_team(),
        "members.csv",
    )


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ({"source_kind": "electoral_register", "lawful_basis": "public_task", "purpose": "x"},
         "must be destroyed"),
        ({"source_kind": "membership", "lawful_basis": "", "purpose": "x"}, "lawful basis"),
        ({"source_kind": "membership", "lawful_basis": "contract", "purpose": " "}, "used for"),
        ({"source_kind": "pub gossip", "lawful_basis": "contract", "purpose": "x"}, "came from"),
    ],
)  # fmt: skip
def test_a_source_that_is_not_properly_declared_is_refused(tmp_path, source, says):
    path = write_csv(tmp_path / "members.csv", member_rows(2))
    with pytest.raises(ValueError, match=says):
        import_services.create_import(path=path, team=the_team(), source=source)
    assert not Import.objects.exists() and not DataSource.objects.exists()


def test_the_upload_page_refuses_register_data_for_a_campaign_that_is_not_electoral(client):
    organiser = make_organiser()
    campaign = make_campaign(organiser)
    client.force_login(organiser)
    response = client.post(
        reverse("imports:imports"),
        {
            "file": SimpleUploadedFile("register.csv", csv_bytes(member_rows(2))),
            "default_country": "GB",
            "campaign": campaign.public_id,
            "source_kind": "electoral_register",
            "lawful_basis": "public_task",
            "purpose": "By-election",
            "destroy_by": "2099-01-01",
        },
    )
    assert response.status_code == 400
    assert "only be called by an electoral campaign" in response.content.decode()
    assert not Import.objects.exists()
