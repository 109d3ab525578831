"""Factories for the domain, so a test states only what matters to it.

Numbers come from Ofcom's drama ranges (020 7946 0xxx, 0161 496 0xxx): nobody real."""

import itertools

import factory

from ringround.accounts.models import User
from ringround.calling import targets as call_targets
from ringround.campaigns import services as campaign_services
from ringround.campaigns.models import Campaign, Membership
from ringround.contacts.models import Contact

_drama_numbers = itertools.count()


def drama_number() -> str:
    n = next(_drama_numbers)
    if n < 1000:
        return f"+44207946{n:04d}"
    return f"+44161496{n - 1000:04d}"


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


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    first_name = factory.Faker("first_name", locale="en_GB")
    last_name = factory.Faker("last_name", locale="en_GB")
    phone = factory.LazyFunction(drama_number)
    phone_as_typed = factory.SelfAttribute("phone")
    phone_type = "landline"
    area = "Holborn and St Pancras"
    time_zone = "Europe/London"


def make_campaign(organiser=None, *, active=True, targets=0, **fields) -> Campaign:
    """A campaign with default outcomes and ``targets`` fresh contacts to call."""
    organiser = organiser or UserFactory(can_organise=True)
    campaign = campaign_services.create_campaign(
        organiser, name=fields.pop("name", "Members' ballot"), **fields
    )
    if active:
        campaign.status = Campaign.Status.ACTIVE
        campaign.save(update_fields=["status"])
    if targets:
        contacts = ContactFactory.create_batch(targets)
        call_targets.add_contacts(campaign, Contact.objects.filter(pk__in=[c.pk for c in contacts]))
    return campaign


def make_volunteer(campaign, **fields) -> User:
    user = UserFactory(**fields)
    Membership.objects.create(campaign=campaign, user=user)
    return user
