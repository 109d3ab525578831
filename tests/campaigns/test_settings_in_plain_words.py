"""The campaign settings say what each limit does, in words a newcomer understands."""

import pytest
from django.urls import reverse

from ringround.campaigns.forms import CampaignForm
from tests.factories import make_campaign, organiser_of

pytestmark = pytest.mark.django_db

LIMITS = ["lease_minutes", "max_attempts", "claims_per_hour", "contacts_per_hour"]


def test_limits_are_labelled_in_plain_english():
    form = CampaignForm()
    assert form.fields["claims_per_hour"].label == "Contacts one volunteer may take in an hour"
    assert form.fields["lease_minutes"].label == (
        "How long a volunteer keeps a contact before it goes back to the list (minutes)"
    )
    jargon = ("claim", "lease", "per hour", "holds a contact")
    for name in LIMITS:
        label = form.fields[name].label.lower()
        assert not any(word in label for word in jargon), label


def test_every_limit_says_what_it_does(client):
    campaign = make_campaign(active=False)
    client.force_login(organiser_of(campaign))
    html = client.get(reverse("campaigns:edit", args=[campaign.public_id])).content.decode()
    form = CampaignForm(instance=campaign)
    for name in [*LIMITS, "joining", "target_tags"]:
        help_text = form.fields[name].help_text
        assert 20 < len(help_text) < 240, name
        assert str(help_text).replace("'", "&#x27;") in html, name
