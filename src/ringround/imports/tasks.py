"""Background work: imports run here, in the ``db_worker`` process."""

from django_tasks import task

from .jobs import run_import
from .models import Import


@task()
def import_file(import_id: int) -> dict:
    job = run_import(Import.objects.get(pk=import_id))
    return job.counts()
