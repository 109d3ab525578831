"""Which requests for a tracked link are people: link-preview fetchers (the card a chat app
draws when a link is pasted), crawlers and prefetches are not counted as clicks. One place,
pinned by a table of real user agents in tests/sharing/test_bots.py."""

import re

# Lower-case fragments of the User-Agent headers of previewers and robots. The generic words
# (bot, crawl, spider, preview) catch most; the rest are previewers whose names carry none.
NOT_PEOPLE = re.compile(
    r"bot\b|bot/|bot;|crawl|spider|slurp|preview|"
    r"facebookexternalhit|facebookcatalog|meta-externalagent|whatsapp|telegrambot|twitterbot|"
    r"slackbot|slack-imgproxy|discordbot|linkedinbot|cardyb|bluesky|embedly|iframely|"
    r"skypeuripreview|vkshare|pinterest|redditbot|mastodon|pleroma|misskey|snapchat|"
    r"headlesschrome|phantomjs|python-requests|python-urllib|aiohttp|httpx|curl/|wget/|"
    r"go-http-client|okhttp|java/|libwww|scrapy|node-fetch|axios/|feedfetcher|outbrain",
    re.IGNORECASE,
)
PREFETCH_HEADERS = ("HTTP_PURPOSE", "HTTP_SEC_PURPOSE", "HTTP_X_PURPOSE", "HTTP_X_MOZ")


def is_person(request) -> bool:
    """Whether this request for a link is a person following it (only GETs: previewers send
    HEAD; a browser prefetching the page says so in a header)."""
    if request.method != "GET":
        return False
    agent = request.META.get("HTTP_USER_AGENT", "")
    if not agent.strip() or NOT_PEOPLE.search(agent):
        return False
    return not any("prefetch" in request.META.get(h, "").lower() for h in PREFETCH_HEADERS)
