"""Seed the local cluster's database for tests/deploy/test_local_cluster.py. Run in a
subprocess with the cluster's app environment (the test process has its own database):

    python -m tests.deploy.seed_cluster

Prints one JSON object: campaign ids and API tokens."""

import json
import os
import random


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ringround.settings")
    import django

    django.setup()
    import factory.random

    from ringround.api.services import create_token
    from ringround.calling import targets as call_targets
    from ringround.campaigns.models import Membership
    from ringround.compliance import services as compliance
    from ringround.contacts.models import Contact
    from tests import factories

    random.seed(16)
    factory.random.reseed_random(16)
    factories.restart_counters()
    organiser = factories.make_organiser()
    big = {"claims_per_hour": 100_000, "contacts_per_hour": 1_000_000}

    def campaign(name, targets):
        made = factories.open_campaign(organiser, name=name, targets=0, **big)
        contacts = Contact.objects.bulk_create(
            factories.ContactFactory.build(team=made.team) for _ in range(targets)
        )
        call_targets.add_contacts(made, Contact.objects.filter(pk__in=[c.pk for c in contacts]))
        return made

    calling, report = campaign("Cluster calls", 3000), campaign("Cluster report", 5)
    # The team screened its list against the TPS today (a number on none of its contacts'),
    # so its UK numbers may be handed out.
    compliance.load_screening(calling.team, b"0113 496 0999\n", kind="full")

    def volunteer(on, calls_recorded):
        user = factories.UserFactory()
        Membership.objects.create(campaign=on, user=user, calls_recorded=calls_recorded)
        return create_token(user, "cluster test")[1]

    json.dump(
        {
            "calling": calling.public_id,
            "report": report.public_id,
            "organiser": create_token(organiser, "cluster test")[1],
            "volunteers": [volunteer(calling, 10_000) for _ in range(16)],
            "newcomer": volunteer(calling, 0),
            "reporter": volunteer(report, 10_000),
        },
        fp=__import__("sys").stdout,
    )


if __name__ == "__main__":
    main()
