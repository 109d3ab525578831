"""Refusing an over-size upload before it is stored, not after; and an upload form's file
kept as an import, for the pages that take one."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from . import services
from .readers import FileProblem

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


def stored_upload(request, form, *, kind, options):
    """The upload kept and inspected as an import, or ``None`` with the problem on the form."""
    handler = next((h for h in request.upload_handlers if isinstance(h, SizeLimitHandler)), None)
    if handler is not None and handler.too_big:
        form.add_error(None, services.too_big_message(handler.received, upload_limit()))
        return None
    if not form.is_valid():
        return None
    try:
        return services.store_upload(
            form.cleaned_data["file"],
            by=request.user,
            kind=kind,
            request=request,
            **options(form.cleaned_data),
        )
    except FileProblem as exc:
        form.add_error("file", str(exc))
        return None
