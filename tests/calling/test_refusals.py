"""Invariant 5 for the calling rules: bad input gets a clear error, and nothing is stored.

Each refused submission raises the right ``CallingError`` with words a volunteer can act on,
leaves the call count, the target and the suppression list exactly as they were, and leaves
the lease with its volunteer so a corrected submission still goes through.
"""

import datetime as dt

import pytest

from ringround.calling import rules
from ringround.calling.models import Call, CallTarget
from ringround.campaigns.models import Membership, Question
from ringround.campaigns.services import add_question
from ringround.contacts.models import Suppression
from tests.factories import claimed, make_campaign, make_volunteer, record

NOON = dt.datetime(2027, 6, 1, 11, 0, tzinfo=dt.UTC)


def stored_state():
    """Everything a refused submission must leave alone."""
    targets = list(
        CallTarget.objects.order_by("pk").values_list(
            "pk", "state", "held_by_id", "attempts", "lease_expires_at", "next_call_at"
        )
    )
    return targets, Call.objects.count(), Suppression.objects.count()


@pytest.fixture
def survey():
    """An active campaign with a survey, one volunteer holding a person."""
    campaign = make_campaign(targets=2)
    choice = add_question(
        campaign, text="Who will you vote for?", choices=["Red", "Blue"], required=True
    )
    issues = add_question(
        campaign,
        text="Which issues matter?",
        kind=Question.Kind.MULTIPLE,
        choices=["Housing", "Transport", "Schools"],
    )
    comment = add_question(campaign, text="Anything else?", kind=Question.Kind.TEXT)
    scale = add_question(campaign, text="How likely to vote?", kind=Question.Kind.SCALE)
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer, now=NOON)
    return {
        "campaign": campaign,
        "volunteer": volunteer,
        "lease": lease,
        "choice": choice,
        "issues": issues,
        "comment": comment,
        "scale": scale,
    }


def submit(survey, *, volunteer=None, token=None, code="answered", answers=None, key=None):
    return record(
        survey["campaign"],
        volunteer or survey["volunteer"],
        survey["lease"] if token is None else token,
        code,
        key=key,
        answers=answers,
        now=NOON + dt.timedelta(minutes=3),
    )


def assert_refused_and_untouched(survey, before):
    assert stored_state() == before
    target = CallTarget.objects.get(pk=survey["lease"].target.pk)
    assert target.state == CallTarget.State.ASSIGNED
    assert target.held_by_id == survey["volunteer"].pk
    # The volunteer can still put it right.
    call = submit(survey, answers={survey["choice"].key: "Red"})
    assert Call.objects.filter(pk=call.pk).count() == 1


@pytest.mark.django_db
def test_unknown_outcome_code_is_refused_and_nothing_is_stored(survey):
    before = stored_state()

    with pytest.raises(rules.InvalidOutcome, match="Choose what happened") as refused:
        submit(survey, code="abducted_by_aliens")

    assert refused.value.errors == {"outcome": "Unknown outcome."}
    assert refused.value.code == "invalid_outcome"
    assert_refused_and_untouched(survey, before)


@pytest.mark.django_db
def test_outcome_code_of_another_campaign_is_refused(survey):
    other = make_campaign(name="Elsewhere")
    other.outcomes.create(code="teleported", label="Teleported")
    before = stored_state()

    with pytest.raises(rules.InvalidOutcome, match="Choose what happened"):
        submit(survey, code="teleported")

    assert_refused_and_untouched(survey, before)


def _tampered(token):
    # Flip one character of the signature, keeping the token well formed.
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def _signed(payload, key=None):
    """A token over ``payload`` signed with the server's own key (or another)."""
    return f"{payload}.{rules._lease_signature(payload, key or rules._lease_keys()[0])}"


def _fields(lease):
    return lease.token.rsplit(".", 1)[0].split(".")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda lease: "", id="empty"),
        pytest.param(lambda lease: "not-a-token", id="garbage"),
        pytest.param(lambda lease: lease.token + "é\udc00", id="not ascii"),
        pytest.param(lambda lease: _tampered(lease.token), id="tampered signature"),
        pytest.param(
            lambda lease: _signed(".".join(_fields(lease)), key=b"not the server's key"),
            id="signed with another key",
        ),
        pytest.param(
            lambda lease: _signed(
                ".".join([str(lease.target.pk + 1), *_fields(lease)[1:]]), key=b"made up"
            ),
            id="another target under a made-up key",
        ),
        pytest.param(lambda lease: _signed(str(lease.target.pk)), id="missing fields"),
        pytest.param(
            lambda lease: _signed(".".join([*_fields(lease)[:3], "yesterday"])),
            id="unreadable claim time",
        ),
        pytest.param(
            lambda lease: _signed(".".join(["None", *_fields(lease)[1:]])), id="null target"
        ),
        pytest.param(
            lambda lease: _signed(".".join([*_fields(lease)[:3], "1"])), id="claim too old"
        ),
    ],
)
def test_forged_or_tampered_lease_token_is_refused_and_nothing_is_stored(survey, forge):
    before = stored_state()

    with pytest.raises(rules.InvalidLease, match="not yours to record") as refused:
        submit(survey, token=forge(survey["lease"]), answers={survey["choice"].key: "Red"})

    assert refused.value.code == "invalid_lease"
    assert_refused_and_untouched(survey, before)


@pytest.mark.django_db
def test_lease_token_of_another_volunteer_is_refused_and_nothing_is_stored(survey):
    intruder = make_volunteer(survey["campaign"])
    rules.claim_next(survey["campaign"], intruder, now=NOON)
    before = stored_state()

    with pytest.raises(rules.InvalidLease, match="someone else's"):
        submit(survey, volunteer=intruder, answers={survey["choice"].key: "Red"})

    assert_refused_and_untouched(survey, before)


@pytest.mark.django_db
def test_lease_token_of_another_campaign_is_refused_and_nothing_is_stored(survey):
    elsewhere = make_campaign(targets=1, name="Elsewhere")
    volunteer = survey["volunteer"]
    Membership.objects.create(campaign=elsewhere, user=volunteer)
    their_lease = rules.claim_next(elsewhere, volunteer, now=NOON)
    before = stored_state()

    with pytest.raises(rules.InvalidLease, match="lease is unknown"):
        submit(survey, token=their_lease.token, answers={survey["choice"].key: "Red"})

    assert_refused_and_untouched(survey, before)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("question", "answer", "message"),
    [
        ("choice", "Green", "Pick from the choices given."),
        ("choice", ["Purple"], "Pick from the choices given."),
        ("issues", ["Housing", "Potholes"], "Pick from the choices given."),
        ("scale", "6", "Pick from the choices given."),
        ("comment", "x" * (rules.MAX_TEXT_ANSWER + 1), "Keep it under 2000 characters."),
    ],
)
def test_answer_not_among_the_choices_is_refused_and_nothing_is_stored(
    survey, question, answer, message
):
    key = survey[question].key
    answers = {survey["choice"].key: "Red", key: answer}
    before = stored_state()

    with pytest.raises(rules.InvalidOutcome, match="Some answers need another look") as refused:
        submit(survey, answers=answers)

    assert refused.value.errors == {key: message}
    assert_refused_and_untouched(survey, before)


@pytest.mark.django_db
@pytest.mark.parametrize("blank", [None, "", "   ", []], ids=["missing", "empty", "spaces", "list"])
def test_missing_required_answer_is_refused_and_nothing_is_stored(survey, blank):
    answers = {} if blank is None else {survey["choice"].key: blank}
    before = stored_state()

    with pytest.raises(rules.InvalidOutcome) as refused:
        submit(survey, answers=answers)

    assert refused.value.errors == {survey["choice"].key: "This question needs an answer."}
    assert_refused_and_untouched(survey, before)


@pytest.mark.django_db
def test_survey_is_not_required_when_nobody_was_reached(survey):
    call = submit(survey, code="no_answer", answers={survey["choice"].key: "Green"})

    assert call.answers == {}, "answers only come with a conversation"


@pytest.mark.django_db
def test_valid_answers_are_stored_cleaned(survey):
    answers = {
        survey["choice"].key: " Blue ",
        survey["issues"].key: ["Housing", "Schools"],
        survey["comment"].key: "Wants a leaflet.",
        "q999999": "unasked question",
    }

    call = submit(survey, answers=answers)

    call.refresh_from_db()
    assert call.answers == {
        survey["choice"].key: "Blue",
        survey["issues"].key: ["Housing", "Schools"],
        survey["comment"].key: "Wants a leaflet.",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "   ", "k" * 65], ids=["empty", "spaces", "too long"])
def test_submission_without_a_usable_idempotency_key_is_refused(survey, key):
    before = stored_state()

    with pytest.raises(rules.InvalidOutcome, match="missing its submission key"):
        submit(survey, key=key, answers={survey["choice"].key: "Red"})

    assert_refused_and_untouched(survey, before)


@pytest.mark.django_db
def test_nul_characters_in_notes_or_answers_are_refused_and_nothing_is_stored():
    campaign, volunteer, lease = claimed(targets=1, now=NOON)
    for extra in ({"notes": "a\x00b"}, {"answers": {"q1": "x\x00"}}, {"key": "k\x00"}):
        with pytest.raises(rules.InvalidOutcome, match="NUL"):
            record(campaign, volunteer, lease, "answered", now=NOON, **extra)
    assert Call.objects.count() == 0


@pytest.mark.django_db
def test_lease_token_made_before_a_secret_key_rotation_is_still_accepted(survey, settings):
    token = survey["lease"].token
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    call = submit(survey, token=token, answers={survey["choice"].key: "Red"})
    assert call.pk and not call.lease_lost


@pytest.mark.django_db
def test_lease_token_under_a_retired_secret_key_is_refused(survey, settings):
    token = survey["lease"].token
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    before = stored_state()
    with pytest.raises(rules.InvalidLease, match="not yours to record"):
        submit(survey, token=token, answers={survey["choice"].key: "Red"})
    assert stored_state() == before
