import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from ringround.audit.models import AuditEvent
from ringround.calling import rules
from ringround.campaigns import services as campaign_services
from ringround.reports.services import campaign_figures, phone_cells
from tests.factories import (
    claim_and_record,
    make_campaign,
    make_volunteer,
    open_campaign,
    organiser_of,
)

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


def results_html(client, campaign) -> str:
    client.force_login(organiser_of(campaign))
    return client.get(reverse("reports:results", args=[campaign.public_id])).content.decode()


def test_results_show_counts_and_percentages_by_outcome_answer_and_volunteer(
    client, campaign_with_calls
):
    html = results_html(client, campaign_with_calls)
    assert '<b>3</b><span class="figure-name">calls made</span>' in html
    assert '<th scope="row">Answered</th>' in html
    assert '2 <span class="muted">(67%)</span>' in html  # 2 of 3 calls
    assert '<th scope="row">NHS</th>' in html
    assert '1 <span class="muted">(50%)</span>' in html  # 1 of the 2 who answered
    assert "2 people answered" in html
    assert "Vik Volunteer" in html and "3 calls, 2 conversations" in html


def test_results_bars_are_as_long_as_the_percentage(client, campaign_with_calls):
    html = results_html(client, campaign_with_calls)
    assert '<rect width="67" height="4"/>' in html  # answered: 2 of 3 calls
    assert '<rect width="33" height="4"/>' in html  # no answer: 1 of 3


def test_remaining_is_what_is_left_not_the_size_of_the_list(client):
    campaign = open_campaign(targets=5)
    volunteer, other = make_volunteer(campaign), make_volunteer(campaign)
    now = timezone.now()
    claim_and_record(campaign, volunteer, "answered", now=now)
    claim_and_record(campaign, volunteer, "wrong_number", now=now)
    claim_and_record(campaign, volunteer, "no_answer", now=now)
    assert rules.claim_next(campaign, other, now=now)  # held now, with a live lease

    figures = campaign_figures(campaign)

    assert figures["total"] == 5
    assert figures["done"] == 2
    assert figures["remaining"] == 3
    assert figures["waiting"] == 1
    assert figures["held"] == 1
    assert figures["percent_done"] == 40
    html = results_html(client, campaign)
    assert (
        '<b>3</b><span class="figure-name">remaining</span>' in html
        and '<b>2</b><span class="figure-name">done</span>' in html
    )
    assert (
        '<b>1</b><span class="figure-name">waiting to retry</span>' in html
        and '<b>1</b><span class="figure-name">with a volunteer now</span>' in html
    )
    assert "2 of the 5 contacts on the calling list" in html


def test_a_lapsed_lease_is_not_counted_as_with_a_volunteer(client):
    campaign = open_campaign(targets=2)
    assert rules.claim_next(campaign, make_volunteer(campaign))
    # The volunteer went quiet: their time with the contact ran out a minute ago.
    campaign.targets.filter(state="assigned").update(
        lease_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    figures = campaign_figures(campaign)
    assert figures["held"] == 0
    assert figures["remaining"] == 2


def test_results_partial_refreshes_over_htmx(client, campaign_with_calls):
    campaign = campaign_with_calls
    client.force_login(organiser_of(campaign))
    response = client.get(
        reverse("reports:results", args=[campaign.public_id]), headers={"HX-Request": "true"}
    )
    assert "<html" not in response.content.decode()
    assert "calls made" in response.content.decode()


def test_results_define_their_figures_on_the_page(client, campaign_with_calls):
    html = results_html(client, campaign_with_calls)
    assert "not called yet, waiting to retry, or with a volunteer" in html
    assert "a final outcome, every try used, or not to be called" in html


# -- the export -------------------------------------------------------------------------------


def export(client, campaign):
    organiser = organiser_of(campaign)
    client.force_login(organiser)
    response = client.get(reverse("reports:export_calls", args=[campaign.public_id]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    return organiser, rows[0], rows[1:]


def test_export_headings_are_plain_words(client, campaign_with_calls):
    _, header, _ = export(client, campaign_with_calls)
    assert header == [
        "Call id",
        "Call ended (UTC)",
        "Contact handed out (UTC)",
        "Volunteer",
        "Contact id",
        "First name",
        "Last name",
        "Phone",
        "Phone country",
        "Area",
        "Membership number / voter id",
        "Outcome",
        "Outcome code",
        "Recorded after the contact was handed to someone else",
        "Notes",
        "Top issue?",
    ]


def test_export_has_one_column_per_question_and_neutralised_cells(client, campaign_with_calls):
    organiser, header, body = export(client, campaign_with_calls)
    assert len(body) == 3
    answered = [r for r in body if r[header.index("Outcome code")] == "answered"]
    assert sorted(r[-1] for r in answered) == ["Housing", "NHS"]
    assert {r[header.index("Outcome")] for r in answered} == {"Answered"}
    assert all(r[header.index("Notes")] == '\'=HYPERLINK("http://evil")' for r in answered)
    assert {r[header.index("Call ended (UTC)")] for r in body} == {"2027-05-04 11:00:00"}
    assert AuditEvent.objects.filter(action="export.calls", actor=organiser).exists()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def test_export_phone_is_text_a_spreadsheet_shows_and_never_runs(client, campaign_with_calls):
    _, header, body = export(client, campaign_with_calls)
    phones = [r[header.index("Phone")] for r in body]
    assert phones and all(p.startswith("020 7946 ") for p in phones)  # the drama range
    for phone in phones:
        assert not phone.startswith(FORMULA_STARTS)
        assert " " in phone  # never digits alone: a spreadsheet keeps it text, 0 and all
    assert {r[header.index("Phone country")] for r in body} == {"GB"}


@pytest.mark.parametrize(
    "e164, cells",
    [
        ("+442079460000", ["020 7946 0000", "GB"]),
        ("+12025550100", ["(202) 555-0100", "US"]),
        ("+33612345678", ["06 12 34 56 78", "FR"]),
        ("+4512345678", ["1234 5678", "DK"]),  # one block at home and abroad: split
        ("", ["", ""]),  # erased
    ],
)
def test_phone_cells_are_the_number_as_dialled_at_home_and_its_country(e164, cells):
    assert phone_cells(e164) == cells
    assert not cells[0].startswith(FORMULA_STARTS)
    assert not cells[0].isdigit()
