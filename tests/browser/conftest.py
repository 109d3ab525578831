"""Headless Chromium against the live server, for tests that drive the pages as a person does.

The browser is the system Chromium (``RINGROUND_CHROMIUM``, default ``/usr/bin/chromium``);
no browser is ever downloaded. Without it these tests skip and say why, except under
``CI=true``, where a missing browser is a failure.
"""

import os
import re

import pytest

CHROMIUM = os.environ.get("RINGROUND_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}


def _unavailable(reason: str):
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI=true and the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so a failing test can leave a screenshot."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(
            f"no Chromium at {CHROMIUM} (set RINGROUND_CHROMIUM, or apt-get install chromium)"
        )
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between page actions are ordinary synchronous ones, so let Django allow them here only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        try:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=CHROMIUM_ARGS,
                headless=True,
                # Keep the back/forward cache a phone's Chrome has, so "Back" is tested as
                # people meet it (Playwright turns it off by default).
                ignore_default_args=["--disable-back-forward-cache"],
            )
        except Error as exc:
            _unavailable(f"Chromium at {CHROMIUM} did not start: {exc.message.splitlines()[0]}")
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _page(request, browser, artefacts_dir, **context_options):
    context = browser.new_context(locale="en-GB", **context_options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    # What the browser complained about (script errors, styles or scripts the CSP blocked):
    # a person sees a broken page even when every assertion about its text passes.
    page.console_errors = []

    def on_console(message):
        # The site has no favicon; the browser asking for one is not the page's fault.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            page.console_errors.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: page.console_errors.append(f"{page.url}: {e}"))
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        name = re.sub(r"[^\w-]+", "-", request.node.name)
        page.screenshot(path=os.path.join(artefacts_dir, f"failed-{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def phone_page(request, browser, live_server, artefacts_dir):
    """A page in a phone-sized window (390×844, touch), as most volunteers call."""
    yield from _page(
        request,
        browser,
        artefacts_dir,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )


@pytest.fixture
def laptop_page(request, browser, live_server, artefacts_dir):
    """A page in a laptop-sized window, as organisers usually work."""
    yield from _page(request, browser, artefacts_dir, viewport=LAPTOP)
