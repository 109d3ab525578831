"""Share kits: the organiser's picture checked, resized and stripped; one-tap sharing counted
for the volunteer's own link; figures per kit and per volunteer."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from ringround.sharing import images, services
from ringround.sharing.models import Referral, Share, ShareKit, TrackedLink
from tests.factories import make_organiser, make_team, make_volunteer, organiser_of
from tests.sharing.helpers import png_upload, published_campaign

pytestmark = pytest.mark.django_db


def stored(kit):
    return Image.open(images.folder() / kit.image)


def make_kit(campaign, **fields):
    fields.setdefault("title", "Ballot night")
    fields.setdefault("message", "Phone members with me tonight")
    return services.create_kit(campaign, by=organiser_of(campaign), **fields)


def test_a_big_picture_is_resized_reencoded_and_its_metadata_dropped():
    campaign, _ = published_campaign()
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Ltd"  # Make
    exif[0x010E] = "Taken at 51.5072 N, 0.1276 W"  # ImageDescription
    upload = png_upload((3000, 2000), name="p.jpg", mode="RGB", exif=exif)
    assert b"SpyCam" in upload.read()
    upload.seek(0)
    kit = make_kit(campaign, image=upload)
    image = stored(kit)
    assert image.format == "JPEG" and max(image.size) == images.LONGEST_SIDE
    assert (kit.image_width, kit.image_height) == image.size == (1200, 800)
    assert not image.getexif() and "exif" not in image.info
    assert b"SpyCam" not in (images.folder() / kit.image).read_bytes()


def test_a_transparent_png_is_kept_on_white():
    campaign, _ = published_campaign()
    kit = make_kit(campaign, image=png_upload((400, 200)))
    assert stored(kit).mode == "RGB"


@pytest.mark.parametrize(
    "content, name",
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo.png"),
        (b"%PDF-1.4 not a picture", "poster.jpg"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "broken.png"),
    ],
)
def test_a_file_that_is_not_a_picture_is_refused_and_nothing_is_stored(content, name):
    campaign, _ = published_campaign()
    with pytest.raises(images.ImageError):
        make_kit(campaign, image=SimpleUploadedFile(name, content))
    assert not ShareKit.objects.exists()
    assert not images.folder().exists() or not any(images.folder().iterdir())


def test_a_picture_too_big_in_bytes_is_refused(monkeypatch):
    campaign, _ = published_campaign()
    monkeypatch.setattr(images, "MAX_BYTES", 1000)
    with pytest.raises(images.ImageError, match="too big"):
        make_kit(campaign, image=png_upload((800, 800), name="noise.jpg", mode="RGB"))


def test_the_organiser_page_shows_the_error_and_keeps_the_form():
    campaign, organiser = published_campaign()
    client = Client()
    client.force_login(organiser)
    response = client.post(
        reverse("sharing:organiser", args=[campaign.public_id]),
        {"kit-title": "T", "kit-message": "M", "kit-image": SimpleUploadedFile("x.png", b"nope")},
    )
    assert response.status_code == 400
    assert "not an image we can read" in response.content.decode()
    assert not ShareKit.objects.exists()


def test_an_image_name_we_did_not_give_is_a_404():
    for name in ("../../etc/passwd", "x.jpg", "a" * 30 + ".png", "a" * 30 + ".jpg"):
        assert Client().get(f"/media/sharing/{name}").status_code == 404


def test_sharing_counts_for_the_volunteers_own_link_and_opens_the_network():
    campaign, _ = published_campaign()
    kit = make_kit(campaign, url="https://example.org/petition")
    vera = make_volunteer(campaign)
    client = Client()
    client.force_login(vera)
    page = client.get(reverse("sharing:volunteer", args=[campaign.public_id]))
    assert page.status_code == 200 and "Ballot night" in page.content.decode()
    link = TrackedLink.objects.get(volunteer=vera, kit=kit)
    response = client.get(reverse("sharing:share", args=[link.code, "whatsapp"]))
    assert response.status_code == 302
    sent = urlparse(response["Location"])
    assert sent.netloc == "wa.me"
    text = parse_qs(sent.query)["text"][0]
    assert text.startswith("Phone members with me tonight") and text.endswith(f"/s/{link.code}")
    for network, host in [
        ("telegram", "t.me"),
        ("x", "x.com"),
        ("bluesky", "bsky.app"),
        ("facebook", "www.facebook.com"),
    ]:
        assert (
            urlparse(
                client.get(reverse("sharing:share", args=[link.code, network]))["Location"]
            ).netloc
            == host
        )
    assert client.get(reverse("sharing:share", args=[link.code, "email"]))["Location"].startswith(
        "mailto:?"
    )
    assert client.post(reverse("sharing:share", args=[link.code, "copy"])).status_code == 204
    assert TrackedLink.objects.get(pk=link.pk).shares == 7
    assert Share.objects.filter(link=link).count() == 7
    follow = Client().get(
        reverse("sharing:follow", args=[link.code]), HTTP_USER_AGENT="Firefox/127.0"
    )
    assert follow["Location"] == "https://example.org/petition"


def test_nobody_shares_through_someone_elses_link():
    campaign, _ = published_campaign()
    vera, sam = make_volunteer(campaign), make_volunteer(campaign)
    link = services.link_for(campaign, vera)
    client = Client()
    client.force_login(sam)
    assert client.get(reverse("sharing:share", args=[link.code, "x"])).status_code == 404
    assert client.get(reverse("sharing:share", args=[link.code, "myspace"])).status_code == 404
    assert TrackedLink.objects.get(pk=link.pk).shares == 0


def test_figures_per_kit_and_per_volunteer():
    campaign, _ = published_campaign()
    kit = make_kit(campaign)
    vera, rosa = make_volunteer(campaign), make_volunteer(campaign)
    link = services.link_for(campaign, vera, kit)
    services.count_share(link, "whatsapp")
    Client().get(reverse("sharing:follow", args=[link.code]), HTTP_USER_AGENT="Firefox/127.0")
    Referral.objects.create(campaign=campaign, recruit=rosa, referrer=vera, link=link)
    [row] = [r for r in services.kit_figures(campaign) if r["kit"] == kit]
    assert (row["shares"], row["clicks"], row["sign_ups"]) == (1, 1, 1)
    [person] = services.volunteer_figures(campaign)
    assert (person["user"], person["shares"], person["clicks"], person["sign_ups"]) == (
        vera,
        1,
        1,
        1,
    )


def test_a_withdrawn_kit_is_no_longer_offered_but_its_links_still_work():
    campaign, organiser = published_campaign()
    kit = make_kit(campaign)
    vera = make_volunteer(campaign)
    link = services.link_for(campaign, vera, kit)
    client = Client()
    client.force_login(organiser)
    client.post(reverse("sharing:withdraw", args=[campaign.public_id, kit.public_id]))
    assert not ShareKit.objects.get(pk=kit.pk).is_live
    client = Client()
    client.force_login(vera)
    assert (
        "Ballot night"
        not in client.get(reverse("sharing:volunteer", args=[campaign.public_id])).content.decode()
    )
    assert Client().get(reverse("sharing:follow", args=[link.code])).status_code == 302


def test_another_teams_organiser_can_neither_see_nor_withdraw_a_kit():
    campaign, _ = published_campaign()
    kit = make_kit(campaign)
    client = Client()
    client.force_login(make_organiser(make_team()))
    assert client.get(reverse("sharing:organiser", args=[campaign.public_id])).status_code == 404
    response = client.post(reverse("sharing:withdraw", args=[campaign.public_id, kit.public_id]))
    assert response.status_code == 404
    assert ShareKit.objects.get(pk=kit.pk).is_live


def test_a_kit_link_must_be_https():
    campaign, organiser = published_campaign()
    client = Client()
    client.force_login(organiser)
    response = client.post(
        reverse("sharing:organiser", args=[campaign.public_id]),
        {"kit-title": "T", "kit-message": "M", "kit-url": "javascript:alert(1)"},
    )
    assert response.status_code == 400 and not ShareKit.objects.exists()
    response = client.post(
        reverse("sharing:organiser", args=[campaign.public_id]),
        {"kit-title": "T", "kit-message": "M", "kit-url": "http://example.org/"},
    )
    assert response.status_code == 400 and not ShareKit.objects.exists()
