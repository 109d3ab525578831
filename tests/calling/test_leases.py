"""Invariant 1: one person is never assigned to two volunteers at the same time in one campaign.

Also who may ask for a person at all (paused campaigns, suspended and unknown volunteers), and
the lease's life cycle: renewal, heartbeat, release and expiry. Every test runs one claim
after another against the real database; ``test_concurrency`` repeats the claims in parallel
on PostgreSQL. The clock is controlled: every rule is called with ``now=`` in 2027, so the
targets (created "now", in the present) are all due.
"""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from ringround.calling import rules
from ringround.calling.models import Call, CallTarget
from ringround.campaigns.models import Campaign, Membership
from tests.factories import UserFactory, claim_and_record, claimed, make_campaign, make_volunteer

# Tuesday 1 June 2027, 12:00 in London (BST): inside the default 09:00-21:00 calling hours.
NOON = dt.datetime(2027, 6, 1, 11, 0, tzinfo=dt.UTC)
State = CallTarget.State


def minutes(n):
    return dt.timedelta(minutes=n)


def holder_of(target_pk):
    return CallTarget.objects.get(pk=target_pk).held_by_id


# --- invariant 1, one claim after another ------------------------------------------------------


@pytest.mark.django_db
def test_many_volunteers_claiming_in_turn_each_get_a_different_person():
    campaign = make_campaign(targets=20)
    volunteers = [make_volunteer(campaign) for _ in range(20)]

    leases = [rules.claim_next(campaign, v, now=NOON) for v in volunteers]

    assert all(lease is not None for lease in leases)
    targets = [lease.target.pk for lease in leases]
    assert len(set(targets)) == 20
    for volunteer, lease in zip(volunteers, leases, strict=True):
        assert holder_of(lease.target.pk) == volunteer.pk
    # Everybody is taken: the next volunteer gets nobody rather than someone already held.
    assert rules.claim_next(campaign, make_volunteer(campaign), now=NOON) is None
    assert CallTarget.objects.filter(campaign=campaign, state=State.ASSIGNED).count() == 20


@pytest.mark.django_db
def test_volunteer_asking_again_gets_the_same_person_and_a_renewed_lease():
    campaign = make_campaign(targets=5)
    volunteer = make_volunteer(campaign)

    first = rules.claim_next(campaign, volunteer, now=NOON)
    again = rules.claim_next(campaign, volunteer, now=NOON + minutes(4))

    assert again.target.pk == first.target.pk
    assert again.contact.pk == first.contact.pk
    assert again.token == first.token, "the same claim keeps the same lease token"
    assert again.expires_at == NOON + minutes(4 + campaign.lease_minutes)
    assert CallTarget.objects.get(pk=first.target.pk).lease_expires_at == again.expires_at
    assert CallTarget.objects.filter(campaign=campaign, held_by=volunteer).count() == 1


@pytest.mark.django_db
def test_volunteer_holds_at_most_one_person_per_campaign_but_one_in_each_campaign():
    first = make_campaign(targets=3, name="Ward A")
    second = make_campaign(targets=3, name="Ward B")
    volunteer = make_volunteer(first)
    Membership.objects.create(campaign=second, user=volunteer)

    in_first = rules.claim_next(first, volunteer, now=NOON)
    in_second = rules.claim_next(second, volunteer, now=NOON)

    assert in_first.target.campaign_id == first.pk
    assert in_second.target.campaign_id == second.pk
    assert rules.claim_next(first, volunteer, now=NOON).target.pk == in_first.target.pk
    assert CallTarget.objects.filter(held_by=volunteer, state=State.ASSIGNED).count() == 2


@pytest.mark.django_db
def test_database_refuses_a_second_live_lease_for_one_volunteer_in_one_campaign():
    campaign, volunteer, lease = claimed(targets=2, now=NOON)
    other = CallTarget.objects.filter(campaign=campaign).exclude(pk=lease.target.pk).get()

    with pytest.raises(IntegrityError), transaction.atomic():
        CallTarget.objects.filter(pk=other.pk).update(
            state=State.ASSIGNED,
            held_by=volunteer,
            leased_at=NOON,
            lease_expires_at=NOON + minutes(10),
        )

    other.refresh_from_db()
    assert other.state == State.READY and other.held_by_id is None


@pytest.mark.django_db
def test_database_refuses_an_assigned_target_without_a_holder_or_a_holder_without_assignment():
    campaign = make_campaign(targets=1)
    volunteer = make_volunteer(campaign)
    target = CallTarget.objects.get(campaign=campaign)

    with pytest.raises(IntegrityError), transaction.atomic():
        CallTarget.objects.filter(pk=target.pk).update(
            state=State.ASSIGNED, lease_expires_at=NOON + minutes(10)
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        CallTarget.objects.filter(pk=target.pk).update(held_by=volunteer)

    target.refresh_from_db()
    assert target.state == State.READY and target.held_by_id is None


@pytest.mark.django_db
def test_live_lease_is_not_handed_to_anyone_else_until_it_expires():
    campaign = make_campaign(targets=1)  # lease_minutes defaults to 10
    first, second = make_volunteer(campaign), make_volunteer(campaign)
    lease = rules.claim_next(campaign, first, now=NOON)

    assert rules.claim_next(campaign, second, now=NOON) is None
    assert (
        rules.claim_next(campaign, second, now=lease.expires_at - dt.timedelta(seconds=1)) is None
    )
    assert holder_of(lease.target.pk) == first.pk


@pytest.mark.django_db
def test_expired_lease_is_reclaimable_by_another_and_the_first_volunteer_no_longer_holds_it():
    campaign = make_campaign(targets=1)
    first, second = make_volunteer(campaign), make_volunteer(campaign)
    lease = rules.claim_next(campaign, first, now=NOON)

    taken = rules.claim_next(campaign, second, now=lease.expires_at)

    assert taken is not None and taken.target.pk == lease.target.pk
    assert taken.token != lease.token
    assert holder_of(lease.target.pk) == second.pk
    later = lease.expires_at + minutes(1)
    assert rules.current_lease(campaign, first) is None
    assert rules.heartbeat(campaign, first, now=later) is None
    # Asking again gives the first volunteer nobody (the only person is the second's now) ...
    assert rules.claim_next(campaign, first, now=later) is None
    # ... and does not disturb the new holder.
    target = CallTarget.objects.get(pk=lease.target.pk)
    assert target.held_by_id == second.pk and target.state == State.ASSIGNED
    assert target.lease_expires_at == taken.expires_at


@pytest.mark.django_db
def test_expired_lease_nobody_took_is_returned_to_the_same_volunteer():
    campaign, volunteer, lease = claimed(targets=3, now=NOON)

    later = lease.expires_at + minutes(5)
    again = rules.claim_next(campaign, volunteer, now=later)

    assert again.target.pk == lease.target.pk and again.token == lease.token
    assert again.expires_at == later + minutes(campaign.lease_minutes)


# --- heartbeat, release, expiry ---------------------------------------------------------------


@pytest.mark.django_db
def test_heartbeat_extends_only_the_volunteers_own_lease():
    campaign = make_campaign(targets=2)
    holder, idle = make_volunteer(campaign), make_volunteer(campaign)
    lease = rules.claim_next(campaign, holder, now=NOON)

    extended = rules.heartbeat(campaign, holder, now=NOON + minutes(8))

    assert extended == NOON + minutes(8 + campaign.lease_minutes)
    assert CallTarget.objects.get(pk=lease.target.pk).lease_expires_at == extended
    assert rules.heartbeat(campaign, idle, now=NOON + minutes(8)) is None
    # Kept alive past its first expiry, the lease is still not anyone else's to take.
    assert rules.claim_next(campaign, idle, now=lease.expires_at + minutes(1)).target.pk != (
        lease.target.pk
    )


@pytest.mark.django_db
def test_release_hands_the_person_back_without_counting_an_attempt():
    campaign = make_campaign(targets=1)
    first, second = make_volunteer(campaign), make_volunteer(campaign)
    lease = rules.claim_next(campaign, first, now=NOON)

    assert rules.release(campaign, first) == 1

    target = CallTarget.objects.get(pk=lease.target.pk)
    assert target.state == State.READY
    assert target.held_by_id is None and target.lease_expires_at is None
    assert target.attempts == 0
    assert Call.objects.count() == 0
    assert rules.current_lease(campaign, first) is None
    assert rules.claim_next(campaign, second, now=NOON).target.pk == lease.target.pk
    assert rules.release(campaign, first) == 0, "nothing left to release"


@pytest.mark.django_db
def test_release_after_an_earlier_attempt_keeps_the_attempt_count_and_waits_for_retry_time():
    campaign = make_campaign(targets=1)
    volunteer = make_volunteer(campaign)
    lease = claim_and_record(campaign, volunteer, "busy", now=NOON)
    retry_at = NOON + minutes(60)
    rules.claim_next(campaign, volunteer, now=retry_at)

    rules.release(campaign, volunteer)

    target = CallTarget.objects.get(pk=lease.target.pk)
    assert target.state == State.WAITING and target.held_by_id is None
    assert target.attempts == 1
    assert rules.claim_next(campaign, make_volunteer(campaign), now=retry_at) is not None


@pytest.mark.django_db
def test_expire_leases_returns_only_lapsed_leases_to_the_pool():
    campaign = make_campaign(targets=3)
    early, late = make_volunteer(campaign), make_volunteer(campaign)
    lapsing = rules.claim_next(campaign, early, now=NOON)
    live = rules.claim_next(campaign, late, now=NOON + minutes(8))

    expired = rules.expire_leases(now=NOON + minutes(campaign.lease_minutes))

    assert expired == 1
    returned = CallTarget.objects.get(pk=lapsing.target.pk)
    assert returned.state == State.READY
    assert returned.held_by_id is None and returned.lease_expires_at is None
    assert returned.attempts == 0
    kept = CallTarget.objects.get(pk=live.target.pk)
    assert kept.state == State.ASSIGNED and kept.held_by_id == late.pk
    assert rules.current_lease(campaign, early) is None
    assert rules.expire_leases(now=NOON + minutes(campaign.lease_minutes)) == 0


# --- who may ask --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status", [Campaign.Status.PAUSED, Campaign.Status.DRAFT, Campaign.Status.FINISHED]
)
def test_campaign_not_taking_calls_hands_out_nobody(status):
    campaign = make_campaign(targets=2, name="Spring drive")
    volunteer = make_volunteer(campaign)
    campaign.status = status
    campaign.save(update_fields=["status"])

    with pytest.raises(rules.CampaignNotOpen, match="Spring drive is not taking calls"):
        rules.claim_next(campaign, volunteer, now=NOON)

    assert not CallTarget.objects.filter(campaign=campaign, state=State.ASSIGNED).exists()


@pytest.mark.django_db
def test_paused_campaign_does_not_give_a_volunteer_back_the_person_they_held():
    campaign = make_campaign(targets=2)
    volunteer = make_volunteer(campaign)
    rules.claim_next(campaign, volunteer, now=NOON)
    campaign.status = Campaign.Status.PAUSED
    campaign.save(update_fields=["status"])

    with pytest.raises(rules.CampaignNotOpen):
        rules.claim_next(campaign, volunteer, now=NOON + minutes(1))


@pytest.mark.django_db
def test_suspended_volunteer_is_handed_nobody():
    campaign = make_campaign(targets=2)
    volunteer = make_volunteer(campaign)
    Membership.objects.filter(campaign=campaign, user=volunteer).update(
        status=Membership.Status.SUSPENDED
    )

    with pytest.raises(rules.NotAVolunteer, match="suspended by an organiser"):
        rules.claim_next(campaign, volunteer, now=NOON)

    assert not CallTarget.objects.filter(campaign=campaign, state=State.ASSIGNED).exists()


@pytest.mark.django_db
def test_non_member_is_handed_nobody_even_if_they_volunteer_elsewhere():
    campaign = make_campaign(targets=2)
    elsewhere = make_campaign(targets=2, name="Elsewhere")
    outsider = make_volunteer(elsewhere)
    stranger = UserFactory()

    for person in (outsider, stranger):
        with pytest.raises(rules.NotAVolunteer, match="not joined this campaign"):
            rules.claim_next(campaign, person, now=NOON)

    assert not CallTarget.objects.filter(campaign=campaign, state=State.ASSIGNED).exists()


def test_refusals_are_calling_errors_with_their_own_codes():
    assert issubclass(rules.CampaignNotOpen, rules.CallingError)
    assert issubclass(rules.NotAVolunteer, rules.CallingError)
    assert issubclass(rules.InvalidLease, rules.CallingError)
    assert issubclass(rules.InvalidOutcome, rules.CallingError)
    codes = {
        cls.code
        for cls in (
            rules.CampaignNotOpen,
            rules.NotAVolunteer,
            rules.InvalidLease,
            rules.InvalidOutcome,
        )
    }
    assert len(codes) == 4
