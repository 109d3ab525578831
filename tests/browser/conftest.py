"""Headless Chromium against the live server, for tests that drive the pages as a person does.

The browser is the system Chromium (``RINGROUND_CHROMIUM``, default ``/usr/bin/chromium``);
no browser is ever downloaded. Without it these tests skip and say why, except under
``CI=true``, where a missing browser is a failure.

Every page a browser test visits is checked with axe-core (the copy bundled in
axe-playwright-python, so no network): before each action on a page (a click, a fill, a
screenshot …), after each ``goto``/``reload``/back/forward, and on the page a test ends on,
each document is checked once; ``check_accessibility(page)`` checks again after a partial
(HTMX) update. A serious or critical violation fails the test, with the page, the rule and
the elements in the report. Checking at actions rather than on the browser's ``load`` event
keeps it deterministic: a check is never cut short by the test moving on.
"""

import os
import re

import pytest

CHROMIUM = os.environ.get("RINGROUND_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
FAILING_IMPACTS = ("serious", "critical")
# What a test does to a page: before any of these the current document is checked.
PAGE_ACTIONS = (
    "click",
    "fill",
    "check",
    "uncheck",
    "select_option",
    "press",
    "tap",
    "set_input_files",
    "screenshot",
    "goto",
    "reload",
    "go_back",
    "go_forward",
)
LOCATOR_ACTIONS = (
    "click",
    "dblclick",
    "fill",
    "clear",
    "check",
    "uncheck",
    "set_checked",
    "select_option",
    "press",
    "press_sequentially",
    "type",
    "tap",
    "set_input_files",
    "screenshot",
    "dispatch_event",
)
# After these the new document is loaded, so it is checked straight away.
NAVIGATIONS = ("goto", "reload", "go_back", "go_forward")
# A document already checked carries this mark, so each is checked once.
_MARK = "__ringroundAxeChecked"


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


class AxeWatch:
    """Runs axe-core on each document of one page and keeps what it found."""

    def __init__(self, page):
        from axe_playwright_python.sync_playwright import Axe

        self.page, self.axe = page, Axe()
        self.checked: list[str] = []  # the URLs checked, in order (the tour reports them)
        self.violations: list[dict] = []  # serious and critical only
        self.paused = False

    def check(self, *, again: bool = False) -> list[dict]:
        """Check the current document unless it was already; returns its violations."""
        from playwright.sync_api import Error
        from playwright.sync_api import TimeoutError as LoadTimeout

        page = self.page
        if self.paused or page.is_closed() or not page.url.startswith("http"):
            return []  # about:blank, before the first page, is not ours
        self.paused = True  # what the check itself does to the page is not checked
        try:
            try:
                page.wait_for_load_state("load", timeout=5_000)
            except LoadTimeout:
                pass  # restored from the back-forward cache: no load event comes, it is here
            first = page.evaluate(
                f"() => {{ const first = !window.{_MARK}; window.{_MARK} = true; return first; }}"
            )
            if not (first or again):
                return []
            results = self.axe.run(page).response
        except Error as exc:
            if "context was destroyed" in str(exc) or "navigat" in str(exc):
                return []  # the page moved on by itself; its next document gets checked
            raise
        finally:
            self.paused = False
        self.checked.append(page.url)
        found = [
            {**violation, "url": page.url}
            for violation in results["violations"]
            if violation["impact"] in FAILING_IMPACTS
        ]
        self.violations.extend(found)
        return found


def describe_violations(violations: list[dict]) -> str:
    """One readable paragraph per violation: where, which rule, why, and which elements."""
    lines = []
    for v in violations:
        lines.append(f"{v['url']}: {v['id']} ({v['impact']}): {v['help']}  <{v['helpUrl']}>")
        for node in v["nodes"][:5]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:300]}")
        if len(v["nodes"]) > 5:
            lines.append(f"    … and {len(v['nodes']) - 5} more elements")
    return "\n".join(lines)


def check_accessibility(page) -> list[dict]:
    """Run axe on the page as it is now (after an HTMX swap, say); returns what it found."""
    return page.axe_watch.check(again=True)


def _checked_first(method, page_of):
    def action(self, *args, **kwargs):
        watch = getattr(page_of(self), "axe_watch", None)
        if watch is not None:
            watch.check()
        result = method(self, *args, **kwargs)
        if watch is not None and method.__name__ in NAVIGATIONS:
            watch.check()
        return result

    action.__name__ = method.__name__
    return action


@pytest.fixture(autouse=True)
def _axe_on_every_action(monkeypatch):
    """Pages and locators check the document before each action (see the module docstring)."""
    try:
        from playwright.sync_api import Locator, Page
    except ImportError:
        return  # the browser fixture says why the test cannot run
    for name in PAGE_ACTIONS:
        monkeypatch.setattr(Page, name, _checked_first(getattr(Page, name), lambda p: p))
    for name in LOCATOR_ACTIONS:
        monkeypatch.setattr(
            Locator, name, _checked_first(getattr(Locator, name), lambda loc: loc.page)
        )


def _page(request, browser, artefacts_dir, **context_options):
    context = browser.new_context(locale="en-GB", **context_options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    # What the browser complained about (script errors, styles or scripts the CSP blocked):
    # a person sees a broken page even when every assertion about its text passes.
    page.console_errors = []

    def on_console(message):
        if message.type == "error":
            page.console_errors.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: page.console_errors.append(f"{page.url}: {e}"))
    page.axe_watch = watch = AxeWatch(page)
    yield page
    report = getattr(request.node, "report_call", None)
    failed = report is not None and report.failed
    if not failed:
        watch.check()  # the page the test ended on
    watch.paused = True
    if failed:
        name = re.sub(r"[^\w-]+", "-", request.node.name)
        page.screenshot(path=os.path.join(artefacts_dir, f"failed-{name}.png"), full_page=True)
    context.close()
    if watch.violations:
        pytest.fail(
            "axe-core found serious or critical accessibility problems:\n"
            + describe_violations(watch.violations),
            pytrace=False,
        )


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
