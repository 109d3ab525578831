"""Background work: exports are written here, in the task worker process."""

from django_tasks import task

from . import exports
from .models import Export


@task()
def build_export(export_id: int) -> dict:
    """Write the export. Only its status and count are returned: task results are kept, and
    a failure is stored on the export itself (with its reason), not in a traceback here."""
    job = exports.run_export(Export.objects.select_related("campaign").get(pk=export_id))
    return {"status": job.status, "rows": job.rows_written}


def start_export(
    campaign, kind: str, file_format: str, *, by=None, request=None, reason: str = ""
) -> Export:
    """Ask for an export: recorded in the audit log (with its reason, for political
    opinions), then written by the task worker (at once, where tasks run immediately)."""
    job = exports.create_export(campaign, kind, file_format, by=by, request=request, reason=reason)
    build_export.enqueue(job.pk)
    job.refresh_from_db()
    return job
