"""Static files in production: collected with hashed names and compressed copies, served by
WhiteNoise with a year's caching and gzip/brotli when the browser accepts them; the favicon;
the pages naming only files that exist (a missing one would be a server error); and
`ringround demo` doing all this by itself from a fresh data folder."""

import gzip
import os
import re
import subprocess
import sys
import time
import urllib.request

import brotli
import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from tests.test_serve import free_port, get

MANIFEST = "whitenoise.storage.CompressedManifestStaticFilesStorage"
YEAR = 315360000  # WhiteNoise's "forever" for a file whose name carries its hash


def production_storages(settings):
    return {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST}}


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """The static files collected once for this module (it takes seconds: ~1,000 files)."""
    from django.conf import settings

    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root, STORAGES=production_storages(settings)):
        call_command("collectstatic", "--no-input", verbosity=0)
    return root


@pytest.fixture
def production_static(settings, collected):
    """The production arrangement (settings.py without DEBUG) over the collected files."""
    settings.STATIC_ROOT = collected
    settings.STORAGES = production_storages(settings)
    settings.WHITENOISE_USE_FINDERS = False
    return collected


def stylesheet_url(html: str) -> str:
    return re.search(r'href="(/static/ringround/site\.[0-9a-f]{12}\.css)"', html).group(1)


def test_collected_files_have_hashed_names_and_compressed_copies(production_static):
    names = {p.name for p in (production_static / "ringround").iterdir()}
    hashed_css = [n for n in names if re.fullmatch(r"site\.[0-9a-f]{12}\.css", n)]
    assert hashed_css
    assert {f"{hashed_css[0]}.gz", f"{hashed_css[0]}.br"} <= names
    assert any(re.fullmatch(r"favicon\.[0-9a-f]{12}\.svg", n) for n in names)


@pytest.mark.django_db
def test_a_page_names_the_hashed_stylesheet_served_long_cached_and_compressed(
    production_static,
):
    client = Client()
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    url = stylesheet_url(page.content.decode())
    plain = b"".join(client.get(url).streaming_content)

    zipped = client.get(url, headers={"accept-encoding": "gzip"})
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(b"".join(zipped.streaming_content)) == plain
    assert zipped["Vary"] == "Accept-Encoding"

    smaller = client.get(url, headers={"accept-encoding": "gzip, deflate, br"})
    assert smaller["Content-Encoding"] == "br"
    assert brotli.decompress(b"".join(smaller.streaming_content)) == plain

    cache = smaller["Cache-Control"]
    assert f"max-age={YEAR}" in cache and "immutable" in cache and "public" in cache
    assert b".topbar" in plain


@pytest.mark.django_db
def test_error_pages_name_only_collected_files(production_static, settings):
    """With the manifest, a {% static %} of a file that does not exist is an error: render
    every page of our own that has no view behind it (the error pages) to prove none does."""
    from django.template import loader

    for name in ("400.html", "403.html", "403_csrf.html", "404.html", "500.html"):
        html = loader.get_template(name).render()
        assert re.search(r"/static/ringround/site\.[0-9a-f]{12}\.css", html), name
        assert re.search(r"/static/ringround/favicon\.[0-9a-f]{12}\.svg", html), name


@pytest.mark.django_db
def test_favicon_ico_is_sent_to_the_svg(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/ringround/favicon.svg"
    assert "max-age=86400" in response["Cache-Control"]
    icon = client.get(response["Location"])
    assert icon.status_code == 200 and icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(icon.streaming_content)


def test_ringround_demo_from_a_fresh_data_folder_serves_static_files_compressed(tmp_path):
    env = {
        **os.environ,
        "RINGROUND_DATA": str(tmp_path / "data"),
        "RINGROUND_TASK_WORKER": "0",
        "SECRET_KEY": "demo-test-" + "x" * 40,
    }
    for name in ("DATABASE_URL", "STATIC_ROOT", "DEBUG"):
        env.pop(name, None)
    port = free_port()
    command = [sys.executable, "-m", "ringround", "demo", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", "1", "--threads", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # migrations, the demo world, compressing
        while True:
            try:
                status, _, body = get(base + "/accounts/login/")
                break
            except OSError:
                assert process.poll() is None, "ringround demo exited"
                assert time.monotonic() < deadline, "ringround demo did not start"
                time.sleep(0.3)
        assert status == 200
        url = base + stylesheet_url(body.decode())

        request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=5) as response:
            headers, zipped = response.headers, response.read()
        assert headers["Content-Encoding"] == "gzip"
        assert (
            f"max-age={YEAR}" in headers["Cache-Control"]
            and "immutable" in headers["Cache-Control"]
        )
        assert b".topbar" in gzip.decompress(zipped)

        request = urllib.request.Request(url, headers={"Accept-Encoding": "br"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.headers["Content-Encoding"] == "br"
            assert b".topbar" in brotli.decompress(response.read())

        status, headers, body = get(base + "/no-such-page/")
        assert status == 404
        assert b'name="viewport"' in body and b"Page not found" in body

        status, headers, _ = get(base + "/favicon.ico")  # followed to the collected SVG
        assert status == 200 and headers["Content-Type"] == "image/svg+xml"
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=20)
