"""The invite sign-up and the password reset answer the same whether or not an email has an
account, so neither tells a visitor who uses Ringround."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from ringround.accounts.models import User
from ringround.campaigns.models import Membership
from tests.factories import UserFactory, confirm_link, open_campaign

pytestmark = pytest.mark.django_db


def page_without(response, email):
    """The page as the visitor sees it, less the email they typed and the form's token."""
    html = response.content.decode().replace(email, "EMAIL")
    html = re.sub(r"X-CSRFToken\": \"[^\"]+\"", "", html)
    return re.sub(r"name=\"csrfmiddlewaretoken\" value=\"[^\"]+\"", "", html)


def sign_up(client, campaign, email):
    return client.post(
        reverse("accounts:join", args=[campaign.invite_token]),
        {"name": "Someone", "email": email, "password": "a long enough passphrase"},
    )


def test_invite_sign_up_answers_the_same_for_a_known_email(client):
    campaign = open_campaign()
    known = UserFactory(email="known@example.org", name="Kim Known")
    old_password = known.password
    answers = [
        sign_up(client, campaign, email) for email in ("known@example.org", "new@example.org")
    ]

    assert [a.status_code for a in answers] == [200, 200]
    assert page_without(answers[0], "known@example.org") == page_without(
        answers[1], "new@example.org"
    )
    assert "already" not in answers[0].content.decode().lower()
    # Each address got one email; the known account is changed in no way.
    assert sorted(m.to[0] for m in mail.outbox) == ["known@example.org", "new@example.org"]
    known.refresh_from_db()
    assert (known.password, known.name) == (old_password, "Kim Known")
    assert not Membership.objects.filter(user=known).exists()
    assert "_auth_user_id" not in client.session, "nobody is signed in by a sign-up"


def test_the_known_account_holder_joins_by_following_their_link(client):
    campaign = open_campaign()
    known = UserFactory(email="known@example.org")
    sign_up(client, campaign, "known@example.org")
    assert "You already have a Ringround account" in mail.outbox[0].body
    client.post(confirm_link("known@example.org"))
    assert Membership.objects.get(user=known, campaign=campaign).status == "active"


def test_a_new_invite_link_cancels_unfollowed_links_for_existing_accounts(client):
    from ringround.campaigns.services import regenerate_invite

    campaign = open_campaign()
    known = UserFactory(email="known@example.org")
    sign_up(client, campaign, "known@example.org")
    regenerate_invite(campaign)
    assert client.post(confirm_link("known@example.org")).status_code == 404
    assert not Membership.objects.filter(user=known).exists()


def test_password_reset_answers_the_same_for_known_and_unknown_emails(client):
    UserFactory(email="known@example.org")
    url = reverse("accounts:password_reset")
    known = client.post(url, {"email": "known@example.org"})
    unknown = client.post(url, {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("accounts:password_reset_done")
    assert [m.to for m in mail.outbox] == [["known@example.org"]]
    assert User.objects.filter(email="nobody@example.org").count() == 0
