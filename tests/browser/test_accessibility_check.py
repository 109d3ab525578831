"""The axe-core check every browser test gets (conftest): it runs by itself on each page a
test reaches, by address or by a click, finds a serious problem and says where."""

import pytest

from .conftest import check_accessibility, describe_violations

pytestmark = pytest.mark.browser

BROKEN = """<!doctype html><html lang="en"><head><title>Broken</title></head><body><main>
<ul role="status"><li>Saved.</li></ul><a href="/fine/">Back</a></main></body></html>"""
FINE = """<!doctype html><html lang="en"><head><title>Fine</title></head><body><main>
<div role="status"><ul><li>Saved.</li></ul></div><a href="/broken/">Onward</a></main></body></html>"""


@pytest.fixture
def pages(phone_page, live_server):
    """Two pages at the live server's address, one with the messages markup axe refuses."""

    def serving(html):
        return lambda route: route.fulfill(body=html, content_type="text/html")

    for path, html in (("/broken/", BROKEN), ("/fine/", FINE)):
        phone_page.route(f"{live_server.url}{path}", serving(html))
    return phone_page


def test_a_page_reached_by_a_click_is_checked_before_the_next_action(pages, live_server):
    page = pages
    page.goto(f"{live_server.url}/fine/")
    assert page.axe_watch.violations == []
    page.get_by_role("link", name="Onward").click()
    page.wait_for_url("**/broken/")
    page.get_by_role("link", name="Back").click()  # the check runs before this action

    found = page.axe_watch.violations
    assert [(v["id"], v["impact"], v["url"]) for v in found] == [
        ("listitem", "serious", f"{live_server.url}/broken/")
    ]
    assert f"{live_server.url}/broken/: listitem (serious)" in describe_violations(found)
    page.axe_watch.violations.clear()  # seen; the test would otherwise fail at teardown
    assert page.axe_watch.checked == [f"{live_server.url}/fine/", f"{live_server.url}/broken/"]


def test_a_partial_update_is_checked_when_asked(pages, live_server):
    page = pages
    page.goto(f"{live_server.url}/fine/")
    assert check_accessibility(page) == []
    page.evaluate("document.querySelector('main').innerHTML = '<li>Swapped in</li>'")
    assert [v["id"] for v in check_accessibility(page)] == ["listitem"]
    page.axe_watch.violations.clear()
