"""Scripts that cannot break: a merge field no contact has is flagged while the script is
written, and a campaign using one is not opened for calls."""

import pytest
from django.urls import reverse

from ringround.campaigns import merge
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import MERGE_FIELD_SOURCES, Campaign
from ringround.campaigns.scripts import braced
from ringround.campaigns.services import CampaignError
from tests.factories import ContactFactory, make_campaign, make_organiser, make_team

pytestmark = pytest.mark.django_db

ALL_FIELDS = ["first_name", "last_name", "area", "phone", "postcode", "email"]


@pytest.fixture
def campaign():
    campaign = make_campaign(active=False, visible_fields=ALL_FIELDS)
    ContactFactory(team=campaign.team, custom_fields={"ward": "King's Cross"})
    return campaign


def test_contact_fields_and_the_teams_custom_fields_are_known(campaign):
    script = " ".join(braced(name) for name in [*MERGE_FIELD_SOURCES, "ward"])
    assert merge.unknown_merge_fields(campaign, script) == []


def test_unknown_and_misspelt_merge_fields_are_named(campaign):
    script = "Hi {{ firstname }}, calling people in {{ constituency }}, {{ ward }}."
    assert merge.unknown_merge_fields(campaign, script) == ["constituency", "firstname"]


def test_another_teams_custom_field_is_not_known(campaign):
    ContactFactory(team=make_team("Elsewhere"), custom_fields={"branch": "North"})
    assert merge.unknown_merge_fields(campaign, "{{ branch }}") == ["branch"]


def test_a_merge_field_with_spaces_is_never_a_custom_field(campaign):
    ContactFactory(team=campaign.team, custom_fields={"polling district": "AB"})
    assert merge.unknown_merge_fields(campaign, "{{ polling district }}") == ["polling district"]


def test_known_merge_fields_list_contact_fields_then_custom_ones(campaign):
    assert merge.known_merge_fields(campaign) == [*MERGE_FIELD_SOURCES, "ward"]


def test_activation_is_refused_naming_the_unknown_fields(campaign):
    campaign.script = "Hi {{ firstname }}, calling people in {{ constituency }}."
    campaign.save()
    with pytest.raises(CampaignError) as refused:
        campaign_services.set_status(campaign, Campaign.Status.ACTIVE)
    message = str(refused.value)
    assert "{{ constituency }}, {{ firstname }}" in message
    assert "Did you mean {{ first_name }} for {{ firstname }}?" in message
    assert "first_name, last_name, full_name" in message and "ward" in message
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_activation_with_known_fields_goes_ahead(campaign):
    campaign.script = "Hi {{ first_name }} in {{ ward }}."
    campaign.save()
    campaign_services.set_status(campaign, Campaign.Status.ACTIVE)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ACTIVE


def test_pausing_or_finishing_is_never_refused_for_the_script(campaign):
    campaign.script = "Hi {{ firstname }}."
    campaign.save()
    campaign_services.set_status(campaign, Campaign.Status.FINISHED)
    assert campaign.status == Campaign.Status.FINISHED


def test_activation_refusal_is_shown_on_the_overview(client, campaign):
    campaign.script = "Calling people in {{ constituency }}."
    campaign.save()
    client.force_login(make_organiser(campaign.team))
    response = client.post(
        reverse("campaigns:status", args=[campaign.public_id]), {"status": "active"}, follow=True
    )
    assert "no contact has: {{ constituency }}" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_editor_saves_a_drafts_script_and_flags_its_unknown_fields(client, campaign):
    client.force_login(make_organiser(campaign.team))
    url = reverse("campaigns:script", args=[campaign.public_id])
    response = client.post(url, {"script": "Hi {{ firstname }}"}, follow=True)
    html = response.content.decode()
    assert "Unknown merge field" in html and "{{ firstname }}" in html
    assert "Did you mean <code>{{ first_name }}</code>" in html
    campaign.refresh_from_db()
    assert campaign.script == "Hi {{ firstname }}"


def test_editor_refuses_unknown_fields_while_the_campaign_takes_calls(client, campaign):
    campaign.script = "Hi {{ first_name }}"
    campaign.status = Campaign.Status.ACTIVE
    campaign.save()
    client.force_login(make_organiser(campaign.team))
    url = reverse("campaigns:script", args=[campaign.public_id])
    response = client.post(url, {"script": "Hi {{ firstname }}"})
    html = response.content.decode()
    assert "the script was not saved" in html
    assert "Hi {{ firstname }}</textarea>" in html  # what was typed is not lost
    campaign.refresh_from_db()
    assert campaign.script == "Hi {{ first_name }}"


def test_live_preview_flags_unknown_fields_and_fills_every_known_one(client, campaign):
    client.force_login(make_organiser(campaign.team))
    script = " | ".join(braced(name) for name in [*MERGE_FIELD_SOURCES, "ward", "wrad"])
    response = client.post(
        reverse("campaigns:script_preview", args=[campaign.public_id]), {"script": script}
    )
    html = response.content.decode()
    preview = html.split('<div id="merge-check"')[0]
    filled = [part.strip() for part in preview.split("|")]
    assert all(filled[:-1]), filled  # every contact field and the custom one has a value
    assert "sample ward" in preview
    assert '<mark class="merge-unknown">{{ wrad }}</mark>' in preview
    assert 'hx-swap-oob="true"' in html and "Unknown merge field" in html


def test_preview_marks_fields_the_campaign_hides_from_volunteers(client):
    campaign = make_campaign(active=False, visible_fields=["first_name", "phone"])
    client.force_login(make_organiser(campaign.team))
    response = client.post(
        reverse("campaigns:script_preview", args=[campaign.public_id]),
        {"script": "Hi {{ first_name }} of {{ area }}"},
    )
    html = response.content.decode()
    assert "Hi Alex of" in html and '<mark class="merge-hidden">area hidden</mark>' in html
    assert "hides <code>{{ area }}</code> from its volunteers" in html


def test_a_campaign_made_on_the_page_starts_from_a_script_and_survey_that_work(client):
    organiser = make_organiser()
    client.force_login(organiser)
    from tests.campaigns.test_organiser_pages import campaign_form

    client.post(reverse("campaigns:create"), campaign_form(name="Debate night"))
    campaign = Campaign.objects.get(name="Debate night")
    assert "{{ first_name }}" in campaign.script and "Debate night" in campaign.script
    assert [q.kind for q in campaign.questions.all()] == ["single", "text"]
    assert merge.unknown_merge_fields(campaign, campaign.script) == []
    campaign_services.set_status(campaign, Campaign.Status.ACTIVE)  # ready to go as it is
