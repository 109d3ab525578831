"""Invariant 3: a submitted outcome is never lost and never stored twice, even when the phone
retries on a flaky connection or the lease has just expired. And the retry rules each outcome
applies: when a person comes back, when they are used up, and when their number is suppressed
for every campaign.
"""

import datetime as dt

import pytest

from ringround.calling import rules
from ringround.calling.models import Call, CallTarget
from ringround.calling.targets import add_contacts
from ringround.contacts.models import Contact, Suppression
from tests.factories import claimed, make_campaign, make_volunteer, record

NOON = dt.datetime(2027, 6, 1, 11, 0, tzinfo=dt.UTC)  # 12:00 in London
State = CallTarget.State


def minutes(n):
    return dt.timedelta(minutes=n)


def target_of(lease):
    return CallTarget.objects.get(pk=lease.target.pk)


# --- invariant 3: stored once, never lost ------------------------------------------------------


@pytest.mark.django_db
def test_same_idempotency_key_twice_stores_one_call_and_counts_one_attempt():
    campaign, volunteer, lease = claimed(targets=2, now=NOON)

    first = record(campaign, volunteer, lease, "no_answer", now=NOON + minutes(2), key="k-1")
    again = record(campaign, volunteer, lease, "no_answer", now=NOON + minutes(3), key="k-1")

    assert again.pk == first.pk
    assert Call.objects.count() == 1
    target = target_of(lease)
    assert target.attempts == 1 and target.state == State.WAITING
    assert target.next_call_at == NOON + minutes(2 + 240), "the retry time is the first one's"


@pytest.mark.django_db
def test_repeated_key_is_answered_with_the_stored_call_even_after_the_next_claim():
    campaign, volunteer, lease = claimed(targets=2, now=NOON)
    first = record(campaign, volunteer, lease, "answered", now=NOON + minutes(2), key="k-1")
    following = rules.claim_next(campaign, volunteer, now=NOON + minutes(3))

    # The phone retries its first submission late, while the volunteer is on the next call.
    again = record(campaign, volunteer, lease, "answered", now=NOON + minutes(4), key="k-1")

    assert again.pk == first.pk
    assert Call.objects.count() == 1
    assert target_of(following).held_by_id == volunteer.pk


@pytest.mark.django_db
def test_two_different_keys_for_the_same_claim_store_one_call():
    campaign, volunteer, lease = claimed(targets=2, now=NOON)

    first = record(campaign, volunteer, lease, "busy", now=NOON + minutes(2), key="tab-1")
    second = record(campaign, volunteer, lease, "answered", now=NOON + minutes(2), key="tab-2")

    assert second.pk == first.pk
    assert Call.objects.count() == 1
    assert first.outcome.code == "busy"
    target = target_of(lease)
    assert target.attempts == 1 and target.state == State.WAITING


@pytest.mark.django_db
def test_stored_call_keeps_what_was_submitted():
    campaign, volunteer, lease = claimed(targets=1, now=NOON)

    call = record(
        campaign, volunteer, lease, "answered", now=NOON + minutes(3), key="k", notes="Keen."
    )

    call.refresh_from_db()
    assert call.campaign_id == campaign.pk
    assert call.target_id == lease.target.pk
    assert call.volunteer_id == volunteer.pk
    assert call.outcome.code == "answered"
    assert call.notes == "Keen."
    assert call.idempotency_key == "k"
    assert call.started_at == NOON and call.ended_at == NOON + minutes(3)
    assert call.duration_seconds == 180
    assert call.lease_lost is False


@pytest.mark.django_db
def test_outcome_recorded_after_the_lease_lapsed_while_still_held_is_stored_and_applied():
    campaign, volunteer, lease = claimed(targets=1, now=NOON)
    late = lease.expires_at + minutes(5)

    call = record(campaign, volunteer, lease, "no_answer", now=late)

    assert call.lease_lost is False
    target = target_of(lease)
    assert target.state == State.WAITING and target.attempts == 1
    assert target.held_by_id is None and target.lease_expires_at is None
    assert target.next_call_at == late + minutes(240)


@pytest.mark.django_db
def test_outcome_recorded_after_the_lease_expired_back_to_the_pool_is_stored_and_applied():
    campaign, volunteer, lease = claimed(targets=1, now=NOON)
    late = lease.expires_at + minutes(5)
    assert rules.expire_leases(now=late) == 1

    call = record(campaign, volunteer, lease, "answered", now=late)

    assert call.lease_lost is False
    assert Call.objects.count() == 1
    target = target_of(lease)
    assert target.state == State.DONE and target.attempts == 1
    assert target.last_outcome_id == call.outcome_id
    assert rules.claim_next(campaign, make_volunteer(campaign), now=late) is None


@pytest.mark.django_db
def test_outcome_recorded_after_someone_else_took_the_lapsed_lease_is_kept_but_leaves_them_be():
    campaign = make_campaign(targets=1)
    first, second = make_volunteer(campaign), make_volunteer(campaign)
    lease = rules.claim_next(campaign, first, now=NOON)
    taken = rules.claim_next(campaign, second, now=lease.expires_at + minutes(1))
    assert taken.target.pk == lease.target.pk
    before = target_of(taken)

    call = record(campaign, first, lease, "answered", now=lease.expires_at + minutes(2))

    assert Call.objects.filter(pk=call.pk).exists()
    assert call.lease_lost is True
    assert call.volunteer_id == first.pk and call.started_at == NOON
    after = target_of(taken)
    assert after.state == State.ASSIGNED and after.held_by_id == second.pk
    assert after.attempts == before.attempts == 0
    assert after.lease_expires_at == taken.expires_at
    assert after.last_outcome_id is None
    # The new holder's own outcome still goes through and applies.
    theirs = record(campaign, second, taken, "no_answer", now=lease.expires_at + minutes(3))
    assert theirs.lease_lost is False
    assert Call.objects.count() == 2
    assert target_of(taken).state == State.WAITING and target_of(taken).attempts == 1


@pytest.mark.django_db
def test_outcome_recorded_after_someone_else_took_and_called_the_lapsed_lease_changes_nothing():
    """V1's lease lapses; V2 takes the person, calls, and schedules a retry; V1's late
    "do not call" is kept as lease lost and must not undo V2's schedule."""
    campaign = make_campaign(targets=1)
    first, second = make_volunteer(campaign), make_volunteer(campaign)
    lease = rules.claim_next(campaign, first, now=NOON)
    taken = rules.claim_next(campaign, second, now=lease.expires_at + minutes(1))
    record(campaign, second, taken, "busy", now=lease.expires_at + minutes(2))
    scheduled = target_of(taken)
    assert scheduled.state == State.WAITING and scheduled.held_by_id is None

    late = record(campaign, first, lease, "refused", now=lease.expires_at + minutes(3))

    assert late.lease_lost is True
    after = target_of(taken)
    assert (after.state, after.attempts, after.next_call_at, after.last_outcome_id) == (
        scheduled.state,
        scheduled.attempts,
        scheduled.next_call_at,
        scheduled.last_outcome_id,
    )


# --- retry rules -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "retry_minutes"),
    [("no_answer", 240), ("busy", 60), ("voicemail", 24 * 60), ("call_back", 24 * 60)],
)
def test_retrying_outcome_waits_its_retry_time_before_the_person_is_handed_out_again(
    code, retry_minutes
):
    campaign = make_campaign(targets=1)
    volunteer, other = make_volunteer(campaign), make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer, now=NOON)

    record(campaign, volunteer, lease, code, now=NOON + minutes(2))

    target = target_of(lease)
    retry_at = NOON + minutes(2 + retry_minutes)
    assert target.state == State.WAITING and target.attempts == 1
    assert target.held_by_id is None
    assert target.next_call_at == retry_at
    assert rules.claim_next(campaign, other, now=retry_at - dt.timedelta(seconds=1)) is None
    assert rules.claim_next(campaign, volunteer, now=retry_at - minutes(1)) is None
    again = rules.claim_next(campaign, other, now=retry_at)
    assert again is not None and again.target.pk == lease.target.pk


@pytest.mark.django_db
def test_call_back_at_a_requested_time_waits_until_then():
    campaign, volunteer, lease = claimed(targets=1, now=NOON)
    tomorrow_evening = dt.datetime(2027, 6, 2, 17, 30, tzinfo=dt.UTC)

    record(campaign, volunteer, lease, "call_back", now=NOON, callback_at=tomorrow_evening)

    assert target_of(lease).next_call_at == tomorrow_evening
    assert rules.claim_next(campaign, volunteer, now=tomorrow_evening - minutes(1)) is None
    assert rules.claim_next(campaign, volunteer, now=tomorrow_evening) is not None


@pytest.mark.django_db
def test_no_answer_up_to_the_attempt_limit_exhausts_the_person():
    campaign = make_campaign(targets=1, max_attempts=3)
    volunteer = make_volunteer(campaign)
    now = NOON
    for attempt in (1, 2, 3):
        lease = rules.claim_next(campaign, volunteer, now=now)
        assert lease is not None, f"attempt {attempt} was not handed out"
        record(campaign, volunteer, lease, "no_answer", now=now)
        target = target_of(lease)
        assert target.attempts == attempt
        assert target.state == (State.EXHAUSTED if attempt == 3 else State.WAITING)
        now += minutes(240)

    assert Call.objects.count() == 3
    assert rules.claim_next(campaign, volunteer, now=now + dt.timedelta(days=30)) is None


@pytest.mark.django_db
def test_campaign_attempt_limit_below_the_outcomes_own_limit_wins():
    campaign = make_campaign(targets=1, max_attempts=2)  # no_answer allows 3
    volunteer = make_volunteer(campaign)
    now = NOON
    for _ in range(2):
        lease = rules.claim_next(campaign, volunteer, now=now)
        record(campaign, volunteer, lease, "no_answer", now=now)
        now += minutes(240)

    assert target_of(lease).state == State.EXHAUSTED
    assert rules.claim_next(campaign, volunteer, now=now) is None


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["answered", "refused"])
def test_final_outcome_marks_the_person_done_and_never_hands_them_out_again(code):
    campaign, volunteer, lease = claimed(targets=1, now=NOON)

    record(campaign, volunteer, lease, code, now=NOON)

    target = target_of(lease)
    assert target.state == State.DONE and target.attempts == 1
    assert target.held_by_id is None
    assert rules.claim_next(campaign, volunteer, now=NOON + dt.timedelta(days=30)) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("do_not_call", Suppression.Reason.REQUESTED),
        ("wrong_number", Suppression.Reason.WRONG_NUMBER),
    ],
)
def test_suppressing_outcome_blocks_the_number_in_every_campaign(code, reason):
    campaign, volunteer, lease = claimed(targets=1, name="Ward A", now=NOON)
    phone = lease.target.phone
    elsewhere = make_campaign(name="Ward B")
    add_contacts(elsewhere, Contact.objects.filter(pk=lease.contact.pk))
    there = CallTarget.objects.get(campaign=elsewhere)
    assert there.state == State.READY

    record(campaign, volunteer, lease, code, now=NOON)

    suppression = Suppression.objects.get(phone=phone)
    assert suppression.reason == reason
    assert suppression.created_by_id == volunteer.pk
    target = target_of(lease)
    assert target.state == State.SUPPRESSED and target.held_by_id is None
    there.refresh_from_db()
    assert there.state == State.SUPPRESSED
    later = NOON + dt.timedelta(days=30)
    assert rules.claim_next(campaign, volunteer, now=later) is None
    assert rules.claim_next(elsewhere, make_volunteer(elsewhere), now=later) is None


@pytest.mark.django_db
def test_do_not_call_frees_the_volunteer_holding_that_number_in_another_campaign():
    campaign = make_campaign(targets=1, name="Ward A")
    caller = make_volunteer(campaign)
    lease = rules.claim_next(campaign, caller, now=NOON)
    elsewhere = make_campaign(name="Ward B")
    add_contacts(elsewhere, Contact.objects.filter(pk=lease.contact.pk))
    other_caller = make_volunteer(elsewhere)
    held_there = rules.claim_next(elsewhere, other_caller, now=NOON)
    assert held_there.target.phone == lease.target.phone

    record(campaign, caller, lease, "do_not_call", now=NOON + minutes(1))

    there = target_of(held_there)
    assert there.state == State.SUPPRESSED and there.held_by_id is None
    assert rules.claim_next(elsewhere, other_caller, now=NOON + minutes(2)) is None
