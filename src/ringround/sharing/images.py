"""Share kit images: checked by their content (not their name), limited in size, resized to
what previews show, re-encoded as JPEG without metadata (no camera, place or owner) and kept
under a random name in the data folder's media."""

import io
import re
import secrets
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded
LONGEST_SIDE = 1200
FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
NAME = re.compile(r"^[A-Za-z0-9_-]{16,64}\.jpg$")


class ImageError(ValueError):
    """An upload that is not an image we take, said in words for the organiser."""


def folder() -> Path:
    return Path(settings.MEDIA_ROOT) / "sharing"


def save_image(upload) -> tuple[str, int, int]:
    """Check, resize and store an uploaded image; its stored name, width and height."""
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ImageError(f"The image is too big: at most {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            width, height = probe.size
            if kind not in FORMATS:
                raise ImageError("Upload a JPEG, PNG, WebP or GIF image.")
            if width * height > MAX_PIXELS:
                raise ImageError("The image has too many pixels.")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.seek(0)
            image = ImageOps.exif_transpose(image)
            image.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
            flat = Image.new("RGB", image.size, "white")
            rgba = image.convert("RGBA")
            flat.paste(rgba, mask=rgba.getchannel("A"))
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ImageError("That file is not an image we can read.") from None
    name = f"{secrets.token_urlsafe(18)}.jpg"
    target = folder()
    target.mkdir(parents=True, exist_ok=True)
    flat.save(target / name, "JPEG", quality=85, optimize=True)
    return name, flat.width, flat.height


def path_of(name: str) -> Path | None:
    """The stored file of ``name``, or ``None`` for a name we could not have given."""
    if not NAME.match(name or ""):
        return None
    path = folder() / name
    return path if path.is_file() else None
