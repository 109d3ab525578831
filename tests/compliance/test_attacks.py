"""The compliance pages as an attacker tries them: another team's organiser, a forged form, a
hostile reason or link, a statement used to get round an objection."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ringround.calling.targets import suppress_number
from ringround.campaigns.services import add_question
from ringround.compliance import services
from ringround.compliance.models import ScreenedNumber, Screening, TeamPolicy
from ringround.reports import exports
from tests.compliance.world import NOON, campaign_with, everyone_handed_out
from tests.factories import TeamMember, make_organiser, make_team, organiser_of

pytestmark = pytest.mark.django_db

A = "+447911100200"


def test_another_teams_organiser_cannot_load_a_screening(client):
    campaign = campaign_with(A)
    client.force_login(make_organiser(make_team("Rivals")))
    response = client.post(
        reverse("compliance:screening", args=[campaign.team.public_id]),
        {"file": SimpleUploadedFile("tps.txt", b"07911100200\n"), "kind": "full"},
    )
    assert response.status_code == 404
    assert not ScreenedNumber.objects.exists() and not Screening.objects.exists()


def test_a_forged_kind_of_file_changes_nothing(client):
    campaign = campaign_with(A)
    client.force_login(organiser_of(campaign))
    response = client.post(
        reverse("compliance:screening", args=[campaign.team.public_id]),
        {"file": SimpleUploadedFile("tps.txt", b"07911100200\n"), "kind": "everything"},
    )
    assert response.status_code == 400
    assert not ScreenedNumber.objects.exists()


def test_a_hostile_export_reason_is_shown_as_text(client):
    campaign = campaign_with(A)
    add_question(campaign, text="Vote?", kind="yes_no", reveals_opinion=True)
    exports.create_export(
        campaign, "calls", "csv", by=organiser_of(campaign), reason="<script>alert(1)</script>!!"
    )
    client.force_login(organiser_of(campaign))
    page = client.get(reverse("compliance:page", args=[campaign.team.public_id])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_policy_link_must_be_a_web_address(client):
    campaign = campaign_with(A)
    admin = make_organiser(campaign.team, role=TeamMember.Role.ADMIN)
    client.force_login(admin)
    response = client.post(
        reverse("compliance:settings", args=[campaign.team.public_id]),
        {
            "frequency_days": "7",
            "uk_weekday_start": "09:00",
            "uk_weekday_end": "21:00",
            "uk_weekend_start": "10:00",
            "uk_weekend_end": "18:00",
            "policy_document_url": "javascript:alert(1)",
            "opinion_retention_days": "0",
        },
    )
    assert response.status_code == 400
    assert not TeamPolicy.objects.filter(policy_document_url__startswith="javascript").exists()


def test_a_statement_does_not_get_round_an_objection():
    campaign = campaign_with(A)
    services.load_screening(campaign.team, b"07911100200\n", kind="full", now=NOON)
    services.record_no_objection(campaign.targets.get().contact, how="call", now=NOON)
    suppress_number(A, team=campaign.team)

    assert everyone_handed_out(campaign, NOON) == []


def test_a_statement_is_recorded_only_for_the_teams_own_contacts():
    campaign_with(A)  # this team's contact with the number
    rivals = make_team("Rivals")
    with pytest.raises(services.ComplianceError):
        services.record_no_objection_for_number(rivals, A, how="call")
