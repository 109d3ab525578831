import datetime as dt

import pytest
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.campaigns import services as campaign_services
from ringround.reports import views
from ringround.reports.services import text_answers
from tests.factories import claim_and_record, make_campaign, make_volunteer, organiser_of

pytestmark = pytest.mark.django_db
NOON = dt.datetime(2027, 5, 4, 11, 0, tzinfo=dt.UTC)
SAID = ["Buses to the hospital", "Rents are too high", "", "The hospital car park", "Potholes"]


@pytest.fixture
def campaign():
    campaign = make_campaign(targets=len(SAID) + 1)
    campaign_services.add_question(campaign, text="Vote?", kind="yes_no")
    campaign.issue = campaign_services.add_question(campaign, text="What matters?", kind="text")
    volunteer = make_volunteer(campaign, name="Vik Volunteer")
    # One a minute, in this order; one said nothing; one call had no conversation at all.
    for minute, text in enumerate(SAID):
        answers = {campaign.issue.key: text} if text else {}
        claim_and_record(
            campaign,
            volunteer,
            "answered",
            answers=answers,
            now=NOON + dt.timedelta(minutes=minute),
        )
    claim_and_record(campaign, volunteer, "no_answer", now=NOON + dt.timedelta(minutes=9))
    return campaign


def test_free_text_answers_come_latest_first_leaving_out_empty_ones(campaign):
    found = [call.answer for call in text_answers(campaign, campaign.issue)]
    assert found == [
        "Potholes",
        "The hospital car park",
        "Rents are too high",
        "Buses to the hospital",
    ]


def test_free_text_answers_are_searched_ignoring_case(campaign):
    found = [call.answer for call in text_answers(campaign, campaign.issue, "HOSPITAL")]
    assert found == ["The hospital car park", "Buses to the hospital"]
    assert list(text_answers(campaign, campaign.issue, "trains")) == []


def test_answers_page_searches_pages_and_records_who_read_them(client, campaign, monkeypatch):
    organiser = organiser_of(campaign)
    client.force_login(organiser)
    url = reverse("reports:answers", args=[campaign.public_id])

    html = client.get(url, {"q": "hospital"}).content.decode()
    assert "2 answers containing “hospital”" in html
    assert html.index("The hospital car park") < html.index("Buses to the hospital")
    assert "Potholes" not in html

    monkeypatch.setattr(views, "ANSWERS_PER_PAGE", 3)
    first = client.get(url).content.decode()
    second = client.get(url, {"page": 2}).content.decode()
    assert "Potholes" in first and "Buses to the hospital" not in first
    assert "Page 1 of 2" in first
    assert "Buses to the hospital" in second and "Potholes" not in second
    assert AuditEvent.objects.filter(action="results.answers_viewed", actor=organiser).count() == 3


def test_results_show_the_latest_free_text_answers_and_link_to_them_all(client, campaign):
    client.force_login(organiser_of(campaign))
    html = client.get(reverse("reports:results", args=[campaign.public_id])).content.decode()
    assert "<q>Potholes</q>" in html
    assert "<q>Buses to the hospital</q>" not in html  # only the latest three here
    assert "All 4 answers, latest first, with search" in html


def test_answers_page_refuses_a_question_that_is_not_free_text(client, campaign):
    client.force_login(organiser_of(campaign))
    vote = campaign.questions.get(kind="yes_no")
    url = reverse("reports:answers", args=[campaign.public_id])
    assert client.get(url, {"question": vote.pk}).status_code == 404
