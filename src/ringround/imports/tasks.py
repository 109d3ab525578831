"""Background work: imports run here, in the task worker process (``manage task_worker``)."""

from django_tasks import task

from .jobs import ImportBusy, run_import
from .models import Import


@task()
def import_file(import_id: int) -> dict:
    """Run the import; if it is queued twice (resumed while waiting), the second task finds it
    running or done and leaves it be. Only counts are returned: task results are kept."""
    try:
        job = run_import(Import.objects.get(pk=import_id))
    except ImportBusy:
        return {"busy": True}
    return job.counts()
