"""A realistic demo world: an admin, an organiser, a volunteer, and a campaign of 500
fictional people whose numbers sit in Ofcom's drama range (020 7946 0xxx), so nobody real is
ever dialled. Safe to run again: it finds what it made before instead of making it twice."""

import datetime as dt
import os
import random
import secrets
import threading
import time

from django.conf import settings
from django.db import close_old_connections, transaction
from django.urls import reverse

from ringround.accounts import services as account_services
from ringround.accounts.models import Team, TeamMember, User
from ringround.calling import targets
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import Campaign, Membership, Question
from ringround.compliance import services as compliance
from ringround.compliance.models import NoObjection
from ringround.contacts.models import Contact
from ringround.telephony import dialer
from ringround.telephony import services as telephony
from ringround.telephony.fake import Behaviour, FakeProvider, Seeded

DEMO_CAMPAIGN = "Demo: members' ballot"
DEMO_TEAM = "Holborn & St Pancras (demo)"
DEMO_CONTACTS = 500
FIRST_NAMES = "Amira Ben Chloe Dev Ella Farah Gareth Hannah Imran Jess Kwame Laura Mo Niamh Owen Priya Rhys Sara Tom Yusuf".split()
LAST_NAMES = "Ahmed Baker Clarke Davies Evans Fraser Green Hughes Iqbal Jones Khan Lewis Morgan Nowak Patel Roberts Singh Taylor Walsh Young".split()
AREAS = [
    "Holborn and St Pancras",
    "Islington North",
    "Hackney South",
    "Camberwell and Peckham",
    "Walthamstow",
]
SCRIPT = """Hi, is that **{{ first_name }}**? My name is … and I'm a volunteer calling members in {{ area }}.

We're asking members what matters most to them before the ballot closes. Do you have two minutes?

- If yes: go through the survey below.
- If now is a bad time: offer to call back and choose *Call back*.
- If they ask not to be called: choose *Do not call again*. Thank them either way.
"""


def _login(email: str, name: str, **flags) -> tuple[User, str | None]:
    user = User.objects.filter(email=email).first()
    if user:
        return user, None
    password = secrets.token_urlsafe(9)
    if flags.get("is_superuser"):
        user = User.objects.create_superuser(email=email, password=password, name=name)
    else:
        user = User.objects.create_user(email=email, password=password, name=name, **flags)
    return user, password


def _demo_compliance(team) -> None:
    """The demo team screens its list against a (made-up) TPS file on every ``ringround demo``
    run, so its UK numbers may be called; two demo numbers are on it, and one of those people
    has said they do not object. Its UK calling window is open all day, like the demo
    campaign's own hours (made-up numbers: nobody is disturbed)."""
    compliance.open_uk_hours_all_day(team)
    compliance.load_screening(
        team, b"020 7946 0005\n020 7946 0010\n", kind="full", file_name="demo-tps.txt"
    )
    said = Contact.objects.filter(team=team, phone="+442079460010").first()
    if said is not None and not NoObjection.objects.filter(contact=said).exists():
        compliance.record_no_objection(said, how=NoObjection.How.ON_A_CALL, note="Demo")
    targets.stop_screened(team)


def _passwords_file():
    return settings.DATA_DIR / "demo-logins.txt"


@transaction.atomic
def load_demo() -> dict:
    """Create (or find) the demo world; returns the logins to print."""
    admin, admin_pw = _login("admin@example.org", "Ada Admin", is_superuser=True)
    organiser, org_pw = _login("organiser@example.org", "Owen Organiser")
    volunteer, vol_pw = _login("volunteer@example.org", "Vik Volunteer")
    logins = _remember_passwords(
        {
            "admin@example.org": admin_pw,
            "organiser@example.org": org_pw,
            "volunteer@example.org": vol_pw,
        }
    )

    team = Team.objects.filter(name=DEMO_TEAM).first()
    if team is None:
        team = account_services.create_team(DEMO_TEAM, by=admin, first_admin=organiser)
    else:
        account_services.add_team_member(team, organiser, role=TeamMember.Role.ADMIN, by=admin)
    campaign = Campaign.objects.filter(name=DEMO_CAMPAIGN).first()
    if campaign is None:
        campaign = campaign_services.create_campaign(
            organiser,
            team=team,
            name=DEMO_CAMPAIGN,
            brief=(
                "Call members to ask what matters to them before the ballot. Be friendly, be "
                "brief, and never argue. This demo campaign takes calls at any hour; real "
                "campaigns default to 09:00–21:00 in each person's own time."
            ),
            script=SCRIPT,
            calling_start=dt.time(0, 0),
            calling_end=dt.time(0, 0),
            target_tags="demo",
        )
        campaign_services.add_question(
            campaign,
            text="Which issue matters most to you?",
            kind=Question.Kind.SINGLE,
            choices=["Cost of living", "NHS", "Housing", "Climate", "Something else"],
        )
        campaign_services.add_question(
            campaign, text="Will you vote in the ballot?", kind=Question.Kind.YES_NO, required=True
        )
        campaign_services.add_question(
            campaign, text="Would you volunteer yourself?", kind=Question.Kind.SCALE
        )
        campaign.status = Campaign.Status.ACTIVE
        campaign.save(update_fields=["status"])

    rng = random.Random(2015)
    existing = set(
        Contact.objects.filter(external_id__startswith="DEMO-").values_list(
            "external_id", flat=True
        )
    )
    new = []
    for n in range(DEMO_CONTACTS):
        external_id = f"DEMO-{n:04d}"
        if external_id in existing:
            continue
        contact = Contact(
            team=campaign.team,
            first_name=rng.choice(FIRST_NAMES),
            last_name=rng.choice(LAST_NAMES),
            phone=f"+44207946{n:04d}",
            phone_as_typed=f"020 7946 {n:04d}",
            phone_type="landline",
            area=rng.choice(AREAS),
            external_id=external_id,
            time_zone="Europe/London",
            source="demo",
        )
        contact.set_tags(["demo", "member"])
        new.append(contact)
    Contact.objects.bulk_create(new, batch_size=500)
    _demo_compliance(team)
    targets.add_contacts(campaign)
    Membership.objects.get_or_create(campaign=campaign, user=volunteer)
    return {"logins": logins, "campaign": campaign}


def _remember_passwords(new: dict) -> dict:
    """Passwords are made once and kept in the data folder, so a second run prints them again."""
    path = _passwords_file()
    known = {}
    if path.exists():
        for line in path.read_text().splitlines():
            email, _, password = line.partition(" ")
            known[email] = password
    for email, password in new.items():
        if password:
            known[email] = password
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{e} {p}\n" for e, p in known.items()))
    path.chmod(0o600)
    return {email: known.get(email, "(set before; see your records)") for email in new}


DEMO_CALLER_ID = "+442079460999"
DEMO_TOKEN_VARIABLE = "RINGROUND_TELEPHONY_TOKEN"


def use_fake_telephony(campaign, site_url: str) -> FakeProvider:
    """``ringround demo --telephony fake``: a local fake provider, in real time, that the demo
    campaign's calls connect through (preview dialing; the organiser may switch to power or
    predictive). Every number a volunteer gives answers after two rings and stays on the line;
    the demo's contacts answer about one call in five, a quarter of those a machine."""
    fake = FakeProvider(auth_token=secrets.token_hex(16))
    fake.start()
    fake.default = Behaviour(answer="human", ring_seconds=3, talk_seconds=None)
    people = Seeded(2015)
    for phone in campaign.targets.values_list("phone", flat=True):
        fake.behave(phone, people.behaviour_for(phone))
    os.environ[DEMO_TOKEN_VARIABLE] = fake.auth_token
    settings.RINGROUND_TELEPHONY_ALLOW_PRIVATE = True
    os.environ["RINGROUND_TELEPHONY_ALLOW_PRIVATE"] = "1"
    settings.RINGROUND_SITE_URL = site_url.rstrip("/")
    os.environ["RINGROUND_SITE_URL"] = settings.RINGROUND_SITE_URL
    line = telephony.configure_line(
        campaign.team,
        provider="bridge",
        caller_id=DEMO_CALLER_ID,
        caller_name=campaign.team.name,
        base_url=fake.base_url,
        account_sid=fake.account_sid,
        token_variable=DEMO_TOKEN_VARIABLE,
    )
    fake.set_incoming(
        line.caller_id, site_url.rstrip("/") + reverse("telephony:inbound", args=[line.public_id])
    )
    if not telephony.dialing_of(campaign).connected:
        telephony.set_dialing(campaign, connected=True, mode="preview")
    fake.run_in_real_time()
    threading.Thread(target=_dial_predictively, args=(site_url.rstrip("/"),), daemon=True).start()
    return fake


def _dial_predictively(base: str) -> None:
    """The demo's predictive dialer (``ringround manage dialer`` in production)."""
    while True:
        for dialing in dialer.predictive_campaigns():
            dialer.tick(dialing.campaign, base=base)
        close_old_connections()
        time.sleep(1)
