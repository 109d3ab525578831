"""Factories for the domain, so a test states only what matters to it, and the helpers that
several test packages share (a campaign open all day, one call from claim to outcome).

Numbers come from Ofcom's drama ranges (020 7946 0xxx, 0161 496 0xxx): nobody real.

Everything generated here is reproducible: the root conftest seeds factory-boy's and Faker's
random for each test and restarts the counters below (``restart_counters``), so a test gets
the same names, numbers and keys whichever tests ran before it."""

import datetime as dt
import itertools

import factory

from ringround.accounts.models import Team, TeamMember, User
from ringround.calling import rules
from ringround.calling import targets as call_targets
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import Campaign, Membership
from ringround.compliance import services as compliance_services
from ringround.contacts.models import Contact

# Calling hours that take calls at any moment (the end is exclusive), so a test that claims
# at the real time of day passes at any hour.
ALL_DAY = {"calling_start": dt.time(0, 0), "calling_end": dt.time(23, 59, 59, 999999)}
# The campaign's own hours and its team's UK legal window both all day: for tests that claim at
# the real time of day (pages, the browser). ALL_DAY alone keeps the team's UK window.
AT_ANY_HOUR = {**ALL_DAY, "uk_hours_all_day": True}

_drama_numbers = itertools.count()
_keys = itertools.count(1)


def restart_counters() -> None:
    """Start the phone numbers, submission keys and factory sequences again from the top.

    Called before each test; never within one, so two contacts in a test never share a number.
    """
    global _drama_numbers, _keys
    _drama_numbers = itertools.count()
    _keys = itertools.count(1)
    UserFactory.reset_sequence()
    ContactFactory.reset_sequence()


def drama_number() -> str:
    n = next(_drama_numbers)
    if n < 1000:
        return f"+44207946{n:04d}"
    return f"+44161496{n - 1000:04d}"


def fresh_key() -> str:
    """An idempotency key not used before in this test (the same ones in every run)."""
    return f"test-submission-{next(_keys):06d}"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    name = factory.Faker("name", locale="en_GB")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


TEAM = "Holborn and St Pancras CLP"


def the_team() -> Team:
    """The team a test works in unless it says otherwise (most tests have one team)."""
    return Team.objects.get_or_create(name=TEAM)[0]


def make_team(name=None) -> Team:
    """Another team: ``name`` or a fresh one."""
    return Team.objects.create(name=name or f"Team {Team.objects.count() + 1}")


def make_organiser(team=None, *, role=TeamMember.Role.ORGANISER, **fields) -> User:
    """Someone who organises in ``team`` (default: ``the_team()``)."""
    user = UserFactory(**fields)
    TeamMember.objects.create(team=team or the_team(), user=user, role=role)
    return user


def organiser_of(campaign) -> User:
    """Someone who organises the campaign: the first of its team's people."""
    return campaign.team.members.order_by("pk").first().user


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    team = None  # the_team() when saved, so that build() needs no database

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        if kwargs.get("team") is None:
            kwargs["team"] = the_team()
        return super()._create(model_class, *args, **kwargs)

    first_name = factory.Faker("first_name", locale="en_GB")
    last_name = factory.Faker("last_name", locale="en_GB")
    phone = factory.LazyFunction(drama_number)
    phone_as_typed = factory.SelfAttribute("phone")
    phone_type = "landline"
    area = "Holborn and St Pancras"
    time_zone = "Europe/London"


def make_campaign(organiser=None, *, active=True, targets=0, **fields) -> Campaign:
    """A campaign with default outcomes and ``targets`` fresh contacts to call, for the
    organiser's team (default: a new organiser in ``the_team()``)."""
    organiser = organiser or make_organiser()
    fields.setdefault("team", organiser.team_memberships.order_by("pk").first().team)
    any_hour = fields.pop("uk_hours_all_day", False)
    campaign = campaign_services.create_campaign(
        organiser, name=fields.pop("name", "Members' ballot"), **fields
    )
    if active:
        campaign.status = Campaign.Status.ACTIVE
        campaign.save(update_fields=["status"])
    if targets:
        contacts = ContactFactory.create_batch(targets, team=campaign.team)
        call_targets.add_contacts(campaign, Contact.objects.filter(pk__in=[c.pk for c in contacts]))
    if any_hour:
        uk_hours_all_day(campaign.team)
    return campaign


def open_campaign(organiser=None, *, targets=3, **fields) -> Campaign:
    """A campaign taking calls now, whatever the time of day the tests run (its team's UK
    calling hours too: ``uk_hours_all_day``)."""
    campaign = make_campaign(organiser, targets=targets, **{**ALL_DAY, **fields})
    uk_hours_all_day(campaign.team)
    return campaign


def uk_hours_all_day(team) -> None:
    """Let the team call UK numbers at any hour (its own UK window, ``TeamPolicy``), for tests
    of the campaign's own calling hours or that run at the real time of day."""
    compliance_services.open_uk_hours_all_day(team)


def make_volunteer(campaign, **fields) -> User:
    user = UserFactory(**fields)
    Membership.objects.create(campaign=campaign, user=user)
    return user


def confirm_link(email: str) -> str:
    """The path of the last confirmation link emailed to ``email``."""
    from django.core import mail

    for message in reversed(mail.outbox):
        if email in message.to:
            for line in message.body.splitlines():
                if "/accounts/confirm/" in line:
                    return "/accounts/confirm/" + line.split("/accounts/confirm/")[1].strip()
    raise AssertionError(f"no confirmation link emailed to {email}")


def sign_up_by_invite(
    client,
    campaign,
    *,
    name="Vera Volunteer",
    email="vera@example.org",
    password="a long enough passphrase",
    confirm=True,
    **extra,
) -> User:
    """What a new volunteer does: sign up through the invite link, follow the emailed link
    (``confirm``) and sign in (signing in itself is tested in tests/accounts). ``extra``: request headers (``REMOTE_ADDR``)."""
    from django.urls import reverse

    client.logout()
    response = client.post(
        reverse("accounts:join", args=[campaign.invite_token]),
        {"name": name, "email": email, "password": password},
        **extra,
    )
    assert response.status_code == 200, response.status_code
    assert b"Check your email" in response.content
    if confirm:
        client.post(confirm_link(email), **extra)
    user = User.objects.get(email=email)
    client.force_login(user)
    return user


def record(campaign, volunteer, lease, code="no_answer", *, now, key=None, **extra):
    """Record an outcome for a claim: ``lease`` is the claim (or just its token, forged or
    not); a fresh idempotency key unless ``key`` is given (``""`` included)."""
    return rules.record_outcome(
        campaign,
        volunteer,
        lease_token=getattr(lease, "token", lease),
        outcome_code=code,
        idempotency_key=fresh_key() if key is None else key,
        now=now,
        **extra,
    )


def claim_and_record(campaign, volunteer, code="no_answer", *, now, **extra):
    """One whole call: claim the next person and record an outcome for them at ``now``.
    Returns the claim."""
    lease = rules.claim_next(campaign, volunteer, now=now)
    assert lease is not None, "nobody was handed out to call"
    record(campaign, volunteer, lease, code, now=now, **extra)
    return lease


def claimed(targets=1, *, now, **fields):
    """A campaign with ``targets`` people to call and one volunteer who has just been handed
    one of them at ``now``: ``(campaign, volunteer, lease)``."""
    campaign = make_campaign(targets=targets, **fields)
    volunteer = make_volunteer(campaign)
    lease = rules.claim_next(campaign, volunteer, now=now)
    assert lease is not None, "nobody was handed out to call"
    return campaign, volunteer, lease
