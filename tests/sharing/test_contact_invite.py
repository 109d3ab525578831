"""After a good call: the contact who would help agreed to be sent the recruitment link; the
agreement is recorded and audited, and the link goes by the volunteer's phone or the
campaign's email, only to the person the volunteer holds now."""

from urllib.parse import unquote

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from ringround.audit.models import AuditEvent
from ringround.calling import rules
from ringround.sharing.models import ContactInvite
from tests.factories import make_volunteer
from tests.sharing.helpers import published_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_a_call():
    campaign, _ = published_campaign(targets=2)
    vera = make_volunteer(campaign, name="Vera Stone")
    lease = rules.claim_next(campaign, vera)
    client = Client()
    client.force_login(vera)
    return campaign, vera, lease, client


def invite(client, campaign, lease, channel, consented=True, token=None):
    data = {"lease_token": token or lease.token, "channel": channel}
    if consented:
        data["consented"] = "1"
    return client.post(reverse("sharing:invite_contact", args=[campaign.public_id]), data)


def test_the_card_offers_to_invite_them(on_a_call):
    campaign, _, _, client = on_a_call
    html = client.get(reverse("calling:card", args=[campaign.public_id])).content.decode()
    assert "Invite them" in html and 'name="consented"' in html


def test_by_text_the_agreement_is_recorded_and_the_message_filled_in(on_a_call):
    campaign, vera, lease, client = on_a_call
    response = invite(client, campaign, lease, "sms")
    assert response.status_code == 200
    html = response.content.decode()
    href = html.split('class="button big invite-send" href="')[1].split('"')[0]
    assert href.startswith(f"sms:{lease.contact.phone}?&amp;body=")
    body = unquote(href.split("body=")[1])
    assert "It's Vera from Members" in body and "/s/" in body
    stored = ContactInvite.objects.get()
    assert (stored.contact, stored.volunteer, stored.channel) == (lease.contact, vera, "sms")
    assert AuditEvent.objects.filter(action="sharing.contact_invited", actor=vera).exists()


def test_by_whatsapp_the_number_is_in_the_address(on_a_call):
    campaign, _, lease, client = on_a_call
    html = invite(client, campaign, lease, "whatsapp").content.decode()
    assert f'href="https://wa.me/{lease.contact.phone.lstrip("+")}?text=' in html


def test_by_email_the_campaign_sends_it(on_a_call):
    campaign, _, lease, client = on_a_call
    lease.contact.email = "helper@example.org"
    lease.contact.save()
    response = invite(client, campaign, lease, "email")
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["helper@example.org"] and "/s/" in message.body


def test_without_their_agreement_nothing_is_sent_or_stored(on_a_call):
    campaign, _, lease, client = on_a_call
    response = invite(client, campaign, lease, "sms", consented=False)
    assert response.status_code == 302 and not ContactInvite.objects.exists()


def test_a_person_no_longer_held_cannot_be_invited(on_a_call):
    campaign, vera, lease, client = on_a_call
    assert invite(client, campaign, lease, "sms", token="forged").status_code == 302
    rules.release(campaign, vera)
    assert invite(client, campaign, lease, "sms").status_code == 302
    assert not ContactInvite.objects.exists()
