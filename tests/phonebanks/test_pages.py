"""The pages: an organiser schedules in their own time zone, edits, sees who is coming (names,
not addresses) and cancels; another team's organiser gets 404; volunteers see upcoming sessions
on their brief and the invite page, and sign up and give up a place there."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from ringround.phonebanks import services
from ringround.phonebanks.models import PhoneBankSession
from tests.factories import make_campaign, make_organiser, make_team, make_volunteer, organiser_of
from tests.phonebanks.factories import FUTURE, make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    return make_campaign()


def organiser_client(client, campaign):
    client.force_login(organiser_of(campaign))
    return client


def test_organiser_schedules_a_session_in_their_own_time_zone(client, campaign):
    organiser_client(client, campaign)
    url = reverse("phonebanks:sessions", args=[campaign.public_id])
    response = client.post(
        url,
        {
            "title": "Tuesday phone bank",
            "starts_at": "2031-03-04T19:00",
            "ends_at": "2031-03-04T21:00",
            "time_zone": "America/New_York",
            "capacity": "12",
            "meeting_link": "https://meet.example.org/abc",
            "host": "",
            "host_name": "Sam from the branch",
        },
    )
    assert response.status_code == 302
    session = PhoneBankSession.objects.get(campaign=campaign)
    assert session.starts_at == dt.datetime(2031, 3, 5, 0, 0, tzinfo=dt.UTC)  # 19:00 EST
    assert session.ends_at == dt.datetime(2031, 3, 5, 2, 0, tzinfo=dt.UTC)
    assert session.time_zone == "America/New_York" and session.capacity == 12
    page = client.get(url).content.decode()
    assert "Tuesday phone bank" in page and 'datetime="2031-03-05T00:00:00+00:00"' in page


def test_the_host_may_be_one_of_the_teams_organisers_and_not_another_teams(client, campaign):
    organiser_client(client, campaign)
    stranger = make_organiser(make_team())
    data = {
        "starts_at": "2031-03-04T19:00",
        "ends_at": "2031-03-04T21:00",
        "capacity": "5",
        "host": str(stranger.pk),
    }
    url = reverse("phonebanks:sessions", args=[campaign.public_id])
    assert client.post(url, data).status_code == 200  # refused, with the error beside it
    data["host"] = str(organiser_of(campaign).pk)
    assert client.post(url, data).status_code == 302
    assert PhoneBankSession.objects.get().host == organiser_of(campaign)


def test_a_session_must_end_after_it_starts_and_have_a_place(client, campaign):
    organiser_client(client, campaign)
    data = {
        "starts_at": "2031-03-04T19:00",
        "ends_at": "2031-03-04T18:00",
        "capacity": "0",
        "host_name": "Sam",
    }
    response = client.post(reverse("phonebanks:sessions", args=[campaign.public_id]), data)
    assert response.status_code == 200
    assert "must end after it starts" in response.content.decode()
    assert not PhoneBankSession.objects.exists()


def test_organiser_sees_who_is_coming_by_name_not_email(client, campaign):
    session = make_session(campaign)
    volunteer = make_volunteer(campaign, name="Aisha Khan")
    client.force_login(volunteer)
    client.post(reverse("phonebanks:sign_up", args=[campaign.public_id, session.public_id]))
    organiser_client(client, campaign)
    page = client.get(
        reverse("phonebanks:session", args=[campaign.public_id, session.public_id])
    ).content.decode()
    assert "Aisha Khan" in page and volunteer.email not in page


def test_organiser_edits_and_cancels_and_those_coming_are_emailed(
    client, campaign, django_capture_on_commit_callbacks
):
    session = make_session(campaign)
    volunteer = make_volunteer(campaign)
    client.force_login(volunteer)
    client.post(reverse("phonebanks:sign_up", args=[campaign.public_id, session.public_id]))
    organiser_client(client, campaign)
    url = reverse("phonebanks:session", args=[campaign.public_id, session.public_id])
    edit = {
        "title": "Moved",
        "starts_at": "2031-03-04T20:00",
        "ends_at": "2031-03-04T22:00",
        "time_zone": "Europe/London",
        "capacity": "4",
        "host_name": "Priya",
    }
    assert client.post(url, edit).status_code == 302
    session.refresh_from_db()
    assert session.title == "Moved" and session.capacity == 4
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("phonebanks:session_cancel", args=[campaign.public_id, session.public_id])
        )
    [message] = mail.outbox
    assert message.to == [volunteer.email] and "Cancelled" in message.subject


def test_another_teams_organiser_gets_404(client, campaign):
    session = make_session(campaign)
    client.force_login(make_organiser(make_team()))
    ids = [campaign.public_id, session.public_id]
    assert client.get(reverse("phonebanks:sessions", args=ids[:1])).status_code == 404
    assert client.get(reverse("phonebanks:session", args=ids)).status_code == 404
    assert client.post(reverse("phonebanks:session_cancel", args=ids)).status_code == 404
    assert not PhoneBankSession.objects.get(pk=session.pk).is_cancelled


def test_a_session_of_another_campaign_is_not_found_through_this_one(client, campaign):
    other = make_session(make_campaign(organiser_of(campaign), name="Other"))
    organiser_client(client, campaign)
    url = reverse("phonebanks:session", args=[campaign.public_id, other.public_id])
    assert client.get(url).status_code == 404


def test_volunteer_sees_sessions_on_the_brief_signs_up_and_gives_up(client, campaign):
    session = make_session(campaign, title="Thursday calls", capacity=3)
    volunteer = make_volunteer(campaign)
    client.force_login(volunteer)
    brief = reverse("calling:brief", args=[campaign.public_id])
    page = client.get(brief).content.decode()
    assert "Thursday calls" in page and "3 places left" in page
    sign_up = reverse("phonebanks:sign_up", args=[campaign.public_id, session.public_id])
    assert client.post(sign_up)["Location"] == brief
    assert "You are coming" in client.get(brief).content.decode()
    client.post(reverse("phonebanks:cancel_sign_up", args=[campaign.public_id, session.public_id]))
    assert "3 places left" in client.get(brief).content.decode()


def test_a_full_session_says_so_and_takes_nobody_more(client, campaign):
    session = make_session(campaign, capacity=1)
    client.force_login(make_volunteer(campaign))
    client.post(reverse("phonebanks:sign_up", args=[campaign.public_id, session.public_id]))
    late = make_volunteer(campaign)
    client.force_login(late)
    response = client.post(
        reverse("phonebanks:sign_up", args=[campaign.public_id, session.public_id]), follow=True
    )
    assert "this session is full" in response.content.decode()
    assert PhoneBankSession.objects.get(pk=session.pk).signed_up == 1


def test_the_invite_page_lists_upcoming_sessions_but_not_cancelled_or_past_ones(client, campaign):
    make_session(campaign, title="Coming up")
    make_session(campaign, title="Long ago", starts_at=FUTURE.replace(year=2020))
    services.cancel_session(make_session(campaign, title="Called off"))
    page = client.get(reverse("accounts:join", args=[campaign.invite_token])).content.decode()
    assert "Coming up" in page
    assert "Long ago" not in page and "Called off" not in page


def test_editing_keeps_the_times_in_the_sessions_own_zone(client, campaign):
    session = make_session(campaign, time_zone="America/New_York")
    organiser_client(client, campaign)
    url = reverse("phonebanks:session", args=[campaign.public_id, session.public_id])
    page = client.get(url).content.decode()
    assert 'value="2031-03-04T13:30"' in page  # 18:30 UTC is 13:30 in New York
    assert 'name="time_zone" value="America/New_York"' in page and "data-fixed" in page


def test_only_those_coming_see_the_meeting_link_on_the_brief(client, campaign):
    session = make_session(campaign, meeting_link="https://meet.example.org/secret-room")
    client.force_login(make_volunteer(campaign))
    brief = reverse("calling:brief", args=[campaign.public_id])
    assert "secret-room" not in client.get(brief).content.decode()
    client.post(reverse("phonebanks:sign_up", args=[campaign.public_id, session.public_id]))
    assert "secret-room" in client.get(brief).content.decode()
