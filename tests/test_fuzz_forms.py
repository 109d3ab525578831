"""Hostile form input: whatever is posted, no server error, and a rejected request stores nothing."""

import pytest
from django.apps import apps
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ringround.calling import rules
from tests.factories import make_campaign, make_organiser, make_volunteer, organiser_of

pytestmark = pytest.mark.django_db
FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

nasty_text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "99999999999999999999",
            "1e309",
            "NaN",
            "<script>alert(1)</script>",
            '=HYPERLINK("http://x")',
            "'; DROP TABLE contacts_contact; --",
            "\x00",
            "😀" * 50,
            "../../etc/passwd",
            "{{ 7*7 }}",
            "%s%s%s",
            "2027-02-30T25:61",
            "true",
            "null",
        ]
    ),
)


def form_data(field_names):
    return st.fixed_dictionaries(
        {},
        optional={
            name: st.one_of(nasty_text, st.lists(nasty_text, max_size=3)) for name in field_names
        },
    )


def snapshot():
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in ("campaigns", "contacts", "calling", "accounts")
    }


def post_and_check(client, url, data, *, ok_statuses=(302,)):
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code < 500
    if response.status_code not in ok_statuses:
        after = snapshot()
        assert before == {k: v for k, v in after.items() if k in before}, (url, data)
    return response


@FUZZ
@given(
    data=form_data(
        [
            "name",
            "brief",
            "calling_start",
            "calling_end",
            "calling_days",
            "lease_minutes",
            "max_attempts",
            "claims_per_hour",
            "joining",
            "contacts_per_hour",
            "visible_fields",
            "target_tags",
            "target_areas",
        ]
    )
)
def test_campaign_form_survives_hostile_input(client, data):
    client.force_login(make_organiser())
    post_and_check(client, reverse("campaigns:create"), data)


@FUZZ
@given(data=form_data(["text", "kind", "choices_text", "required"]))
def test_survey_builder_survives_hostile_input(client, data):
    campaign = make_campaign(active=False)
    client.force_login(organiser_of(campaign))
    post_and_check(client, reverse("campaigns:survey", args=[campaign.public_id]), data)


@FUZZ
@given(
    data=form_data(
        ["label", "code", "is_conversation", "retry_after_minutes", "max_attempts", "suppresses"]
    )
)
def test_outcome_form_survives_hostile_input(client, data):
    campaign = make_campaign(active=False)
    client.force_login(organiser_of(campaign))
    post_and_check(client, reverse("campaigns:outcomes", args=[campaign.public_id]), data)


@FUZZ
@given(data=form_data(["phone", "reason", "note"]))
def test_suppression_form_survives_hostile_input(client, data):
    client.force_login(make_organiser())
    post_and_check(client, reverse("contacts:suppressions"), data)


@FUZZ
@given(data=form_data(["name", "email", "password"]))
def test_signup_survives_hostile_input(client, data):
    campaign = make_campaign()
    post_and_check(client, reverse("accounts:join", args=[campaign.invite_token]), data)


@FUZZ
@given(
    data=form_data(["outcome", "idempotency_key", "notes", "callback_at", "then", "q1", "q2"]),
    keep_token=st.booleans(),
)
def test_recording_an_outcome_survives_hostile_input(client, data, keep_token):
    campaign = make_campaign(targets=1)
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer)
    client.force_login(volunteer)
    if keep_token and lease is not None:
        data = {**data, "lease_token": lease.token}
    response = client.post(reverse("calling:record", args=[campaign.public_id]), data)
    assert response.status_code < 500
