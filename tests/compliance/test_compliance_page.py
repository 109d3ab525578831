"""The compliance page's figures equal a recount of the stored rows, for this team only, and
the record of processing is built from them (its download audited)."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.calling import rules
from ringround.calling.models import Call
from ringround.campaigns import services as campaign_services
from ringround.compliance import services
from ringround.compliance.models import DataSource, NoObjection, ScreenedNumber
from ringround.contacts.models import Contact, Suppression
from ringround.privacy import records
from ringround.privacy.services import destroy_register_data
from tests.compliance.world import NOON, campaign_with
from tests.factories import make_campaign, make_organiser, make_team, make_volunteer, record

pytestmark = pytest.mark.django_db

PHONES = [f"+4479111002{n:02d}" for n in range(6)]


def busy_team():
    """A team with a little of everything, and another team with its own records."""
    campaign = campaign_with(*PHONES)
    team = campaign.team
    services.load_screening(team, b"07911100200\n07911100201\n07911100299\n", kind="full", now=NOON)
    for contact in Contact.objects.filter(team=team, phone__in=PHONES[:2]):
        services.record_no_objection(contact, how="email", now=NOON)
    # Two objections on calls, one wrong number, and one objection for every team.
    for code in ("do_not_call", "do_not_call", "wrong_number"):
        volunteer = make_volunteer(campaign)
        lease = rules.claim_next(campaign, volunteer, now=NOON)
        record(campaign, volunteer, lease, code, now=NOON + dt.timedelta(seconds=30))
    # The suppression list stamps entries with the real time: put them on the test's clock,
    # a second after the calls that asked for them.
    Suppression.objects.update(created_at=NOON + dt.timedelta(seconds=31))
    Suppression.objects.create(phone=PHONES[5], team=None, reason="requested")
    # A call that reached an objector afterwards (made outside Ringround's rules).
    late = campaign.targets.get(phone=PHONES[5])
    Call.objects.create(
        campaign=campaign, target=late, volunteer=None, outcome=campaign.outcomes.first(),
        started_at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC), idempotency_key="late",
    )  # fmt: skip
    services.record_source(
        team, label="import:reg", name="register.csv", kind="electoral_register",
        lawful_basis="public_task", purpose="By-election", destroy_by=dt.date(2027, 7, 1), now=NOON,
    )  # fmt: skip
    services.record_source(
        team, label="import:members", name="members.csv", kind="membership",
        lawful_basis="contract", purpose="Ballot", now=NOON,
    )  # fmt: skip
    for n in range(3):
        Contact.objects.create(team=team, phone=f"+4477009003{n:02d}", source="import:reg")
    destroy_register_data(now=dt.datetime(2027, 7, 2, tzinfo=dt.UTC))
    Contact.objects.create(team=team, phone="+447700900399", source="import:reg")
    campaign_services.add_question(campaign, text="Vote?", kind="yes_no", reveals_opinion=True)

    other = make_campaign(make_organiser(make_team("Elsewhere")))
    services.load_screening(other.team, b"07700900400\n", kind="full", now=NOON)
    Suppression.objects.create(phone="+447700900401", team=other.team, reason="requested")
    return campaign


def recount(team):
    """The same figures, counted plainly from the rows."""
    campaigns = list(team.campaigns.values_list("pk", flat=True))
    objections = Suppression.objects.filter(reason="requested").filter(
        team__in=[team, None]
    ) | Suppression.objects.filter(reason="requested", team=None)
    objections = set(objections)
    calls_after = {
        entry.pk: [
            c
            for c in Call.objects.filter(campaign_id__in=campaigns)
            if c.target.phone == entry.phone and c.started_at > entry.created_at
        ]
        for entry in objections
    }
    return {
        "screened": ScreenedNumber.objects.filter(team=team).count(),
        "statements": NoObjection.objects.filter(team=team).count(),
        "objections": len(objections),
        "honoured": sum(1 for calls in calls_after.values() if not calls),
        "calls_after": sum(len(calls) for calls in calls_after.values()),
        "own_suppressions": {
            Suppression.Reason(reason).label: sum(
                1 for s in Suppression.objects.filter(team=team) if s.reason == reason
            )
            for reason in {s.reason for s in Suppression.objects.filter(team=team)}
        },
        "register": sum(
            1
            for c in Contact.objects.filter(team=team)
            if c.source in {d.label for d in DataSource.objects.filter(team=team)}
            and DataSource.objects.get(label=c.source).kind == "electoral_register"
        ),
        "sources": DataSource.objects.filter(team=team).count(),
        "slowest": max(
            (entry.created_at - call.ended_at).total_seconds()
            for entry in objections
            if entry.campaign_id
            for call in Call.objects.filter(campaign_id=entry.campaign_id)
            if call.target.phone == entry.phone and call.ended_at <= entry.created_at
        ),
    }


def test_the_figures_equal_a_recount():
    campaign = busy_team()
    figures = records.team_figures(campaign.team, now=NOON)
    counted = recount(campaign.team)

    assert figures.screened_numbers == counted["screened"] == 3
    assert figures.statements == counted["statements"] == 2
    assert figures.objections.total == counted["objections"] == 3
    assert figures.objections.honoured == counted["honoured"] == 2
    assert figures.objections.calls_after == counted["calls_after"] == 1
    assert figures.objections.slowest_seconds == counted["slowest"]
    assert figures.suppressions == counted["own_suppressions"]
    assert figures.suppressions == {"Asked not to be called": 2, "Wrong number": 1}
    assert figures.register_contacts == counted["register"] == 4
    assert len(figures.sources) == counted["sources"] == 2
    assert [e.detail["erased"] for e in figures.retention_runs] == [3]
    assert len(figures.opinion_questions) == 1


def test_the_page_shows_the_figures_to_the_teams_organiser(client):
    campaign = busy_team()
    client.force_login(campaign.team.members.first().user)
    page = client.get(reverse("compliance:page", args=[campaign.team.public_id])).content.decode()
    counted = recount(campaign.team)

    def figure(name):
        return int(re.search(rf'id="figure-{name}">(\d+)<', page).group(1))

    assert figure("screened") == counted["screened"]
    assert figure("statements") == counted["statements"]
    assert figure("objections") == counted["objections"]
    assert figure("honoured") == counted["honoured"]
    assert figure("calls-after") == counted["calls_after"]
    assert figure("register") == counted["register"]
    assert "Elsewhere" not in page


def test_downloading_the_record_of_processing_is_audited(client):
    campaign = busy_team()
    client.force_login(campaign.team.members.first().user)
    response = client.get(reverse("compliance:record", args=[campaign.team.public_id]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    document = response.content.decode()
    assert f"# Record of processing: {campaign.team.name}" in document
    assert "| Full electoral register | register.csv |" in document
    assert "Article 9 condition: NOT RECORDED." in document
    assert "Objections: 3, honoured 2 (calls after an objection: 1)." in document
    assert AuditEvent.objects.filter(action="compliance.record_downloaded").count() == 1


def test_another_teams_organiser_gets_nothing(client):
    campaign = busy_team()
    client.force_login(make_organiser(make_team("Rivals")))
    for name in ("compliance:page", "compliance:record", "compliance:settings"):
        response = client.get(reverse(name, args=[campaign.team.public_id]))
        assert response.status_code == 404, name
    response = client.post(
        reverse("compliance:no_objection", args=[campaign.team.public_id]),
        {"phone": PHONES[3], "how": "call"},
    )
    assert response.status_code == 404
    assert not NoObjection.objects.filter(contact__phone=PHONES[3]).exists()


def test_an_organiser_loads_a_screening_and_records_a_statement(client, tps_required):
    from django.core.files.uploadedfile import SimpleUploadedFile

    campaign = campaign_with(PHONES[0])
    organiser = campaign.team.members.first().user
    client.force_login(organiser)
    page = reverse("compliance:page", args=[campaign.team.public_id])
    assert "has not yet loaded a TPS/CTPS" in client.get(page).content.decode()

    response = client.post(
        reverse("compliance:screening", args=[campaign.team.public_id]),
        {"file": SimpleUploadedFile("tps.txt", b"07911100200\n"), "kind": "full"},
    )
    assert response.status_code == 302
    assert ScreenedNumber.objects.filter(team=campaign.team, phone=PHONES[0]).exists()
    bad = client.post(
        reverse("compliance:screening", args=[campaign.team.public_id]),
        {"file": SimpleUploadedFile("tps.txt", b"rubbish\nmore rubbish\n"), "kind": "full"},
    )
    assert bad.status_code == 400 and "Nothing was changed" in bad.content.decode()
    assert ScreenedNumber.objects.filter(team=campaign.team).count() == 1

    response = client.post(
        reverse("compliance:no_objection", args=[campaign.team.public_id]),
        {"phone": "07911 100200", "how": "writing"},
    )
    assert response.status_code == 302
    statement = NoObjection.objects.get()
    assert (statement.recorded_by, statement.how) == (organiser, "writing")
    unknown = client.post(
        reverse("compliance:no_objection", args=[campaign.team.public_id]),
        {"phone": "07911 100299", "how": "writing"},
    )
    assert unknown.status_code == 400 and NoObjection.objects.count() == 1


def test_only_the_teams_admins_change_the_settings(client):
    campaign = campaign_with(PHONES[0])
    team = campaign.team
    client.force_login(campaign.team.members.first().user)  # an organiser
    url = reverse("compliance:settings", args=[team.public_id])
    assert client.post(url, {"frequency_days": "1"}).status_code == 403

    admin = make_organiser(team, role="admin")
    client.force_login(admin)
    data = {
        "frequency_days": "14",
        "uk_weekday_start": "09:00",
        "uk_weekday_end": "20:00",
        "uk_weekend_start": "10:00",
        "uk_weekend_end": "16:00",
        "article9_condition": "9_2_d",
        "policy_document_url": "https://example.org/policy",
        "opinion_retention_days": "365",
    }
    assert client.post(url, data).status_code == 302
    policy = services.TeamPolicy.for_team(team.pk)
    assert (policy.frequency_days, policy.uk_weekend_end, policy.article9_condition) == (
        14,
        dt.time(16, 0),
        "9_2_d",
    )
    assert AuditEvent.objects.filter(action="compliance.settings").exists()
