"""A campaign with a published recruitment page, and calls recorded with their badges."""

import datetime as dt
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from ringround.calling import rules
from ringround.sharing import services
from tests.factories import make_organiser, open_campaign, record

NOW = dt.datetime(2027, 6, 2, 18, 0, tzinfo=dt.UTC)  # a Wednesday evening in London


def published_campaign(targets=3, **fields):
    organiser = make_organiser()
    campaign = open_campaign(organiser, targets=targets, **fields)
    services.save_page(
        campaign,
        by=organiser,
        published=True,
        headline="Phone members tonight",
        about="We are calling every member before the ballot closes.",
    )
    return campaign, organiser


def call(campaign, volunteer, code="no_answer", *, now=NOW, minutes=1, capture):
    """One call of ``minutes`` ending at ``now``, with what happens after it commits."""
    lease = rules.claim_next(campaign, volunteer, now=now - dt.timedelta(minutes=minutes))
    assert lease is not None, "nobody to call"
    with capture(execute=True):
        return record(campaign, volunteer, lease, code, now=now)


def png_upload(size=(2400, 1260), *, name="poster.png", mode="RGBA", exif=None):
    """An uploaded PNG (or another format, by ``name``'s suffix) of ``size``."""
    image = Image.new(mode, size, (200, 30, 30, 255) if mode == "RGBA" else (200, 30, 30))
    buffer = io.BytesIO()
    kind = {"png": "PNG", "jpg": "JPEG", "gif": "GIF", "webp": "WEBP"}[name.rsplit(".", 1)[1]]
    extra = {"exif": exif} if exif is not None else {}
    image.save(buffer, kind, **extra)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")
