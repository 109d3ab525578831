"""TPS/CTPS screening: a screened number is never handed out unless its contact's "does not
object" statement is recorded, and a campaign calling UK numbers stops (and cannot be opened)
while its team's last screening is more than 28 days old."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ringround.calling import rules
from ringround.calling import targets as call_targets
from ringround.calling.models import CallTarget
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import Campaign
from ringround.compliance import services
from ringround.compliance.models import NoObjection, ScreenedNumber, Screening, TeamPolicy
from tests.api.conftest import post, token_client, url
from tests.compliance.world import NOON, add_people, campaign_with, everyone_handed_out
from tests.factories import make_campaign, make_organiser, make_team, make_volunteer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tps_required")]

A, B, C = "+447700900001", "+447700900002", "+447700900003"
FULL = services.Screening.Kind.FULL
CHANGES = services.Screening.Kind.CHANGES


def screen(team, *lines, kind=FULL, now=NOON):
    return services.load_screening(team, "\n".join(lines).encode(), kind=kind, now=now)


def test_a_screened_number_is_never_handed_out_without_a_statement():
    campaign = campaign_with(A, B, C)
    screen(campaign.team, "07700 900001", "07700900003")

    assert everyone_handed_out(campaign, NOON) == [B]


def test_a_recorded_statement_lifts_the_screening_for_that_contact_alone():
    campaign = campaign_with(A, B)
    [other] = add_people(make_campaign(make_organiser(make_team("Elsewhere"))), A)
    screen(campaign.team, "07700900001", "07700900002")
    contact = campaign.targets.get(phone=A).contact
    organiser = campaign.team.members.first().user
    services.record_no_objection(contact, how="call", by=organiser, now=NOON)

    assert everyone_handed_out(campaign, NOON) == [A]
    statement = NoObjection.objects.get(contact=contact)
    assert (statement.recorded_by, statement.recorded_at, statement.how) == (
        organiser,
        NOON,
        "call",
    )
    assert not NoObjection.objects.filter(contact=other).exists()


def test_another_teams_screening_does_not_bind_this_team():
    campaign = campaign_with(A)
    other = make_team("Elsewhere")
    screen(campaign.team, "07700900002")
    screen(other, "07700900001")

    assert everyone_handed_out(campaign, NOON) == [A]


def test_a_change_file_adds_and_removes_numbers():
    team = make_team("Screened")
    screen(team, "07700900001", "07700900002")
    changes = screen(team, "A,07700900003", "07700900001,D", "+07700900004", kind=CHANGES)

    assert set(ScreenedNumber.objects.filter(team=team).values_list("phone", flat=True)) == {
        B,
        C,
        "+447700900004",
    }
    assert (changes.added, changes.removed, changes.numbers) == (2, 1, 3)


def test_a_full_file_replaces_the_screened_numbers():
    team = make_team("Screened")
    screen(team, "07700900001", "07700900002")
    full = screen(team, "Telephone number", "447700900002", "07700900003")

    assert set(ScreenedNumber.objects.filter(team=team).values_list("phone", flat=True)) == {B, C}
    assert (full.added, full.removed, full.numbers) == (1, 1, 2)


@pytest.mark.parametrize(
    ("kind", "content", "says"),
    [
        (FULL, b"07700900001\nnot a number\n07700900002", "Line 2"),
        (FULL, b"", "no numbers"),
        (CHANGES, b"07700900001", "with A or D"),
        (FULL, b"\x00\x01\x02PK", "not a text file"),
        (FULL, b"+33612345678", "Line 1"),
    ],
)
def test_a_wrong_file_is_refused_and_changes_nothing(kind, content, says):
    team = make_team("Screened")
    screen(team, "07700900001", now=NOON - dt.timedelta(days=3))

    with pytest.raises(services.ScreeningFileError, match=says):
        services.load_screening(team, content, kind=kind, now=NOON)

    assert list(ScreenedNumber.objects.filter(team=team).values_list("phone", flat=True)) == [A]
    assert Screening.objects.filter(team=team).count() == 1
    assert TeamPolicy.objects.get(team=team).last_screened_at == NOON - dt.timedelta(days=3)


# --- 28 days ---------------------------------------------------------------------------------


def test_claims_stop_when_the_screening_is_28_days_old_and_say_why():
    campaign = campaign_with(A, B)
    screened_on = NOON - dt.timedelta(days=28)
    screen(campaign.team, "07700900009", now=screened_on)
    volunteer = make_volunteer(campaign)

    just_before = screened_on + dt.timedelta(days=28, seconds=-1)
    assert rules.claim_next(campaign, volunteer, now=just_before) is not None
    rules.release(campaign, volunteer)
    with pytest.raises(rules.ScreeningOutOfDate, match="Telephone Preference Service"):
        rules.claim_next(campaign, volunteer, now=NOON)


def test_a_team_that_never_screened_cannot_call_uk_numbers():
    campaign = campaign_with(A)
    with pytest.raises(rules.ScreeningOutOfDate):
        rules.claim_next(campaign, make_volunteer(campaign), now=NOON)


def test_a_campaign_with_no_uk_numbers_needs_no_screening():
    campaign = campaign_with("+12015550123")  # New Jersey: federal hours, 07:00 there at NOON
    assert everyone_handed_out(campaign, NOON + dt.timedelta(hours=6)) == ["+12015550123"]


def test_a_stale_screening_stops_activation_with_the_date():
    campaign = campaign_with(A, active=False)
    screen(campaign.team, "07700900009", now=dt.datetime(2027, 5, 1, 9, 0, tzinfo=dt.UTC))
    june = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)
    with pytest.raises(campaign_services.CampaignError, match="01 May 2027"):
        campaign_services.set_status(campaign, Campaign.Status.ACTIVE, now=june)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT

    screen(campaign.team, "07700900009", now=dt.datetime(2027, 5, 31, tzinfo=dt.UTC))
    campaign_services.set_status(campaign, Campaign.Status.ACTIVE, now=june)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.ACTIVE


def test_the_api_refuses_a_claim_with_the_reason():
    campaign = campaign_with(A)
    volunteer = make_volunteer(campaign)
    response = post(token_client(volunteer), url(campaign, "claim"))
    assert response.status_code == 409
    assert response.json()["error"] == "screening_out_of_date"
    assert "Telephone Preference Service" in response.json()["message"]
    assert not CallTarget.objects.filter(held_by=volunteer).exists()


def test_the_campaign_page_tells_its_organisers_with_the_date(client):
    campaign = campaign_with(A)
    screen(campaign.team, "07700900009", now=dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))
    client.force_login(campaign.team.members.first().user)
    page = client.get(reverse("campaigns:detail", args=[campaign.public_id])).content.decode()
    assert "This campaign cannot call UK numbers" in page
    assert "05 January 2026" in page and "02 February 2026" in page


def test_loading_a_screening_stops_the_screened_and_a_statement_reopens_them(client):
    """Stopped, the screened are out of the claim's walk (the claim checks them anyway)."""
    campaign = campaign_with(A, B)
    client.force_login(campaign.team.members.first().user)
    page = reverse("compliance:screening", args=[campaign.team.public_id])
    client.post(page, {"file": SimpleUploadedFile("tps.txt", b"07700900001\n"), "kind": "full"})
    assert campaign.targets.get(phone=A).state == CallTarget.State.SUPPRESSED
    assert campaign.targets.get(phone=B).state == CallTarget.State.READY

    services.record_no_objection(campaign.targets.get(phone=A).contact, how="call")
    call_targets.reopen_for_statement(campaign.targets.get(phone=A).contact)
    assert campaign.targets.get(phone=A).state == CallTarget.State.READY

    client.post(page, {"file": SimpleUploadedFile("tps.txt", b"07700900002\n"), "kind": "full"})
    assert campaign.targets.get(phone=B).state == CallTarget.State.SUPPRESSED
    changes = b"07700900002,D\n"
    client.post(page, {"file": SimpleUploadedFile("tps.txt", changes), "kind": "changes"})
    assert campaign.targets.get(phone=B).state == CallTarget.State.READY


def test_a_screened_contact_added_later_goes_in_stopped():
    campaign = campaign_with(B)
    screen(campaign.team, "07700900001")
    add_people(campaign, A)
    assert campaign.targets.get(phone=A).state == CallTarget.State.SUPPRESSED


def test_lifting_a_suppression_does_not_reopen_a_screened_number():
    campaign = campaign_with(A)
    screen(campaign.team, "07700900001")
    call_targets.stop_screened(campaign.team)
    call_targets.suppress_number(A, team=campaign.team)
    call_targets.unsuppress_number(A, team=campaign.team)
    assert campaign.targets.get(phone=A).state == CallTarget.State.SUPPRESSED
