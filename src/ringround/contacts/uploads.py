"""Refusing an over-size upload before it is stored, not after."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

FORM_FIELDS_ALLOWANCE = 64 * 1024  # the other form fields of an upload


def upload_limit() -> int:
    return settings.RINGROUND_MAX_UPLOAD_BYTES


def declared_too_big(request) -> int | None:
    """The declared size of a request body over the upload limit, else ``None``."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    return length if length > upload_limit() + FORM_FIELDS_ALLOWANCE else None


class SizeLimitHandler(FileUploadHandler):
    """Stops reading an upload (and drops the connection) once it passes the limit, in case
    the declared length lied or was absent. Put first in ``request.upload_handlers``."""

    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0
        self.too_big = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > upload_limit():
            self.too_big = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None
