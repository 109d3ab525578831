import pytest
from django.urls import reverse

from ringround.campaigns.models import Campaign, OutcomeCode, Question
from tests.factories import UserFactory, make_campaign, make_organiser, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def organiser(client):
    user = make_organiser()
    client.force_login(user)
    return user


def campaign_form(**overrides):
    data = {
        "name": "Debate night",
        "brief": "Ask about the debate.",
        "calling_start": "09:00",
        "calling_end": "21:00",
        "calling_days": list("0123456"),
        "lease_minutes": 10,
        "max_attempts": 3,
        "claims_per_hour": 120,
        "joining": "verify",
        "contacts_per_hour": "",
        "visible_fields": ["first_name", "last_name", "area", "phone"],
        "target_tags": "member",
        "target_areas": "",
    }
    data.update(overrides)
    return data


def test_organiser_creates_campaign_with_default_outcomes(client, organiser):
    response = client.post(reverse("campaigns:create"), campaign_form())
    campaign = Campaign.objects.get(name="Debate night")
    assert response.status_code == 302
    assert campaign.status == "draft"
    assert campaign.team.members.filter(user=organiser).exists()
    codes = set(campaign.outcomes.values_list("code", flat=True))
    assert {
        "answered",
        "no_answer",
        "busy",
        "voicemail",
        "wrong_number",
        "call_back",
        "refused",
        "do_not_call",
    } <= codes


def test_calling_hours_must_end_after_they_start(client, organiser):
    response = client.post(
        reverse("campaigns:create"), campaign_form(calling_start="21:00", calling_end="09:00")
    )
    assert response.status_code == 200
    assert "Calling must end after it starts." in response.content.decode()
    assert not Campaign.objects.exists()


def test_survey_builder_adds_reorders_and_validates_questions(client, organiser):
    campaign = make_campaign(organiser, active=False)
    url = reverse("campaigns:survey", args=[campaign.public_id])
    client.post(url, {"text": "Top issue?", "kind": "single", "choices_text": "NHS\nHousing"})
    client.post(url, {"text": "Will you vote?", "kind": "yes_no", "required": "on"})
    bad = client.post(url, {"text": "Only one choice", "kind": "single", "choices_text": "NHS"})
    assert "Give at least two choices." in bad.content.decode()
    first, second = campaign.questions.all()
    assert (first.text, first.choices) == ("Top issue?", ["NHS", "Housing"])
    assert second.required and second.options() == ["Yes", "No"]
    client.post(
        reverse("campaigns:question", args=[campaign.public_id, second.pk]), {"action": "up"}
    )
    assert [q.text for q in campaign.questions.all()] == ["Will you vote?", "Top issue?"]


def test_custom_outcome_with_retry_rule(client, organiser):
    campaign = make_campaign(organiser, active=False)
    client.post(
        reverse("campaigns:outcomes", args=[campaign.public_id]),
        {"label": "Moved away", "code": "moved", "retry_after_minutes": "", "max_attempts": 1},
    )
    outcome = OutcomeCode.objects.get(campaign=campaign, code="moved")
    assert outcome.retry_after_minutes is None
    duplicate = client.post(
        reverse("campaigns:outcomes", args=[campaign.public_id]),
        {"label": "Again", "code": "moved", "max_attempts": 1},
    )
    assert "already has an outcome with that code" in duplicate.content.decode()


def test_script_preview_fills_merge_fields_and_strips_markup(client, organiser):
    campaign = make_campaign(organiser, active=False)
    response = client.post(
        reverse("campaigns:script_preview", args=[campaign.public_id]),
        {"script": "Hello **{{ first_name }}** from {{area}} <script>alert(1)</script>"},
    )
    html = response.content.decode()
    assert "<strong>Alex</strong>" in html
    assert "Holborn and St Pancras" in html
    assert "<script>" not in html


def test_activation_and_regenerated_invite_stops_old_link(client, organiser):
    campaign = make_campaign(organiser, active=False)
    client.post(reverse("campaigns:status", args=[campaign.public_id]), {"status": "active"})
    campaign.refresh_from_db()
    assert campaign.status == "active"
    old_token = campaign.invite_token
    client.post(reverse("campaigns:invite", args=[campaign.public_id]), {"action": "regenerate"})
    campaign.refresh_from_db()
    assert campaign.invite_token != old_token
    client.logout()
    assert client.get(reverse("accounts:join", args=[old_token])).status_code == 404
    assert client.get(reverse("accounts:join", args=[campaign.invite_token])).status_code == 200


def test_expired_invite_is_refused(client, organiser):
    campaign = make_campaign(organiser)
    client.post(
        reverse("campaigns:invite", args=[campaign.public_id]),
        {"action": "expiry", "expires_at": "2020-01-01T10:00"},
    )
    client.logout()
    response = client.get(reverse("accounts:join", args=[campaign.invite_token]))
    assert response.status_code == 404
    assert "expired" in response.content.decode()


def test_organiser_cannot_see_another_teams_campaign(client, organiser):
    other = make_campaign(make_organiser(make_team()))
    for name in ("detail", "edit", "script", "survey", "outcomes", "invite"):
        assert client.get(reverse(f"campaigns:{name}", args=[other.public_id])).status_code == 404
    assert client.get(reverse("reports:results", args=[other.public_id])).status_code == 404
    assert client.get(reverse("reports:export_calls", args=[other.public_id])).status_code == 404


def test_volunteer_cannot_open_organiser_pages(client):
    campaign = make_campaign()
    client.force_login(UserFactory())
    assert client.get(reverse("campaigns:list")).status_code == 403
    assert client.get(reverse("campaigns:detail", args=[campaign.public_id])).status_code == 403


def test_add_matching_contacts_by_tag_and_area(client, organiser):
    from tests.factories import ContactFactory

    campaign = make_campaign(
        organiser, active=False, target_tags="member", target_areas="Islington North"
    )
    hit = ContactFactory(area="Islington North", tags=",member,")
    ContactFactory(area="Hackney South", tags=",member,")
    ContactFactory(area="Islington North", tags=",donor,")
    client.post(reverse("campaigns:add_targets", args=[campaign.public_id]))
    assert list(campaign.targets.values_list("contact_id", flat=True)) == [hit.pk]
    assert campaign.questions.count() == 0 and Question.objects.count() == 0
