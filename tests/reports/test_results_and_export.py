import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.campaigns import services as campaign_services
from tests.factories import claim_and_record, make_campaign, make_volunteer, organiser_of

pytestmark = pytest.mark.django_db
NOON = dt.datetime(2027, 5, 4, 11, 0, tzinfo=dt.UTC)


def make_calls(campaign, volunteer, outcomes):
    question = campaign.questions.first()
    for outcome, answer in outcomes:
        claim_and_record(
            campaign,
            volunteer,
            outcome,
            answers={question.key: answer} if answer else {},
            notes='=HYPERLINK("http://evil")' if outcome == "answered" else "",
            now=NOON,
        )


@pytest.fixture
def campaign_with_calls():
    campaign = make_campaign(targets=4)
    campaign_services.add_question(
        campaign, text="Top issue?", kind="single", choices=["NHS", "Housing"]
    )
    volunteer = make_volunteer(campaign, name="Vik Volunteer")
    make_calls(
        campaign, volunteer, [("answered", "NHS"), ("answered", "Housing"), ("no_answer", None)]
    )
    return campaign


def test_results_show_counts_by_outcome_answers_and_volunteer(client, campaign_with_calls):
    campaign = campaign_with_calls
    client.force_login(organiser_of(campaign))
    html = client.get(reverse("reports:results", args=[campaign.public_id])).content.decode()
    assert "<b>3</b>calls made" in html
    assert "<td>Answered</td><td>2</td>" in html
    assert "<td>NHS</td><td>1</td>" in html
    assert "Vik Volunteer" in html and "3 calls, 2 conversations" in html


def test_results_partial_refreshes_over_htmx(client, campaign_with_calls):
    campaign = campaign_with_calls
    client.force_login(organiser_of(campaign))
    response = client.get(
        reverse("reports:results", args=[campaign.public_id]), headers={"HX-Request": "true"}
    )
    assert "<html" not in response.content.decode()
    assert "calls made" in response.content.decode()


def test_export_has_one_column_per_question_and_neutralised_cells(client, campaign_with_calls):
    campaign = campaign_with_calls
    organiser = organiser_of(campaign)
    client.force_login(organiser)
    response = client.get(reverse("reports:export_calls", args=[campaign.public_id]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, body = rows[0], rows[1:]
    assert header[-1] == "Top issue?"
    assert len(body) == 3
    answered = [r for r in body if r[header.index("outcome")] == "answered"]
    assert sorted(r[-1] for r in answered) == ["Housing", "NHS"]
    assert all(r[header.index("notes")] == '\'=HYPERLINK("http://evil")' for r in answered)
    assert AuditEvent.objects.filter(action="export.calls", actor=organiser).exists()
