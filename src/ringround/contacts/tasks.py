"""Background work for contacts: imports run here, in the ``db_worker`` process."""

from django_tasks import task


@task()
def import_file(import_id: int) -> dict:
    from .models import Import
    from .services import run_import

    job = run_import(Import.objects.get(pk=import_id))
    return job.counts()
