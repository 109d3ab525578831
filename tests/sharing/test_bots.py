"""Which requests for a tracked link are people, as a table of real user agents."""

import pytest
from django.test import RequestFactory

from ringround.sharing.bots import is_person

PEOPLE = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0]",
]
NOT_PEOPLE = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "WhatsApp/2.23.20.0 A",
    "TelegramBot (like TwitterBot)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Mozilla/5.0 (compatible; Cardyb/1.1; +mailto:support@bsky.app)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "Mastodon/4.2.8 (http.rb/5.1.1; +https://mastodon.social/) Bot",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0 Safari/537.36",
    "some-crawler/1.0",
    "Yahoo! Slurp",
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Go-http-client/2.0",
    "",
]


@pytest.mark.parametrize("agent", PEOPLE)
def test_a_browser_is_a_person(agent):
    assert is_person(RequestFactory().get("/s/abc", HTTP_USER_AGENT=agent))


@pytest.mark.parametrize("agent", NOT_PEOPLE)
def test_a_previewer_or_robot_is_not(agent):
    assert not is_person(RequestFactory().get("/s/abc", HTTP_USER_AGENT=agent))


def test_a_head_request_or_a_prefetch_is_not_a_click():
    agent = PEOPLE[0]
    assert not is_person(RequestFactory().head("/s/abc", HTTP_USER_AGENT=agent))
    assert not is_person(
        RequestFactory().get("/s/abc", HTTP_USER_AGENT=agent, HTTP_SEC_PURPOSE="prefetch")
    )
    assert not is_person(
        RequestFactory().get("/s/abc", HTTP_USER_AGENT=agent, HTTP_PURPOSE="prefetch")
    )
