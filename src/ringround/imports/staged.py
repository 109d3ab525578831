"""Importing contacts at the speed of COPY (PostgreSQL, big files).

The file is read and cleaned exactly as by the batch importer (``rows``: the worker processes
clean each batch and hand back COPY text), but nothing is matched batch by batch: each batch
is COPYed into the import's staging table (``contacts.staged``) in one transaction with its
rejected rows and the import's position, so a stopped import resumes after the last staged
batch. At the end one transaction merges the whole file: new people set-wise in one statement,
and the rows that may be someone already known through the batch importer's own matching and
merging (``contacts.ContactImporter.stage`` / ``apply``), batch by batch as that importer would
have met them. The result is the batch importer's, row for row
(``tests/imports/test_staged_equivalence.py``).

The difference a person sees: the contacts appear at the end, all at once, rather than batch
by batch.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ringround.calling import targets
from ringround.contacts import staged as staging

from .base import (
    BatchResult,
    _batched,
    batch_settings,
    one_import_at_a_time,
    rare_cyclic_gc,
)
from .contacts import ContactImporter
from .models import Import, RejectedRow
from .readers import open_rows
from .rows import pack_rows, prepare_staged, prepare_staged_in_worker


class StagedContactImporter(ContactImporter):
    pipelined = False  # everything is written by the merge, in one transaction

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_batch = 0

    # -- cleaning: COPY text from the workers --------------------------------------------------

    def _clean_here(self, plan, batch, index):
        return prepare_staged(plan, batch, self.first_batch + index)

    def _clean_in_worker(self, pool, batch, index):
        return pool.submit(prepare_staged_in_worker, pack_rows(batch), self.first_batch + index)

    def _from_worker(self, result):
        return result

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> bool:
        with rare_cyclic_gc(), one_import_at_a_time():
            if not self._stage():
                return False
            self._merge()
            return True

    def _stage(self) -> bool:
        """COPY the rest of the file into the staging table; ``False`` if stopped early."""
        job = self.job
        self._check_staging()
        self.first_batch = -(-job.position // self.batch_size)  # after every batch staged
        plan = self.plan()
        with open_rows(job.file_path, job.file_info(), skip=job.position) as rows:
            prepared = self._prepared(plan, _batched(rows, self.batch_size))
            try:
                for batch_len, progress, (text, _count, rejects, blank) in prepared:
                    with transaction.atomic():
                        batch_settings()
                        staging.copy_in(job.pk, text)
                        self._record(batch_len, BatchResult(), rejects, blank, progress)
                    self._recorded(batch_len, BatchResult(), rejects, blank, progress)
                    self.staged_batches += 1
                    if (
                        self.stop_after_batches is not None
                        and self.staged_batches >= self.stop_after_batches
                    ):
                        return False
            finally:
                prepared.close()
        return True

    def _check_staging(self) -> None:
        """The staging table holds exactly what the import counted as staged; else (a server
        crash empties an unlogged table) the file is staged again from its start."""
        job = self.job
        if job.position and staging.exists(job.pk):
            if staging.count(job.pk) == job.rows_read - job.rejected:
                return
        with transaction.atomic():
            staging.prepare(job.pk, empty=True)
            RejectedRow.objects.filter(source_import_id=job.pk).delete()
            Import.objects.filter(pk=job.pk).update(
                position=0, rows_read=0, rejected=0, rejection_summary={}, progress_done=0
            )
        job.position = job.rows_read = job.rejected = job.progress_done = 0
        job.rejection_summary = {}
        self.rejection_summary = {}

    def _merge(self) -> None:
        """The whole file into contacts, in one transaction (see ``contacts.staged``)."""
        job = self.job
        result = BatchResult()
        with transaction.atomic():
            batch_settings()
            staging.mark_matched(job.pk, job.team_id)
            result.created = staging.insert_unmatched(job.pk, job.team_id, timezone.now())
            # Back to looking contacts up by key only: the table's statistics still say it is
            # as small as before this import (see batch_settings).
            batch_settings()
            if job.campaign_id:
                result.targets_added = targets.add_contact_rows(
                    job.campaign_id, staging.unmatched_contacts(job.pk)
                )
            batch, records = None, []
            for number, record in staging.matched_rows(job.pk):
                if number != batch and records:
                    self._add(result, self.apply(self.stage(records)))
                    records = []
                batch = number
                records.append(record)
            if records:
                self._add(result, self.apply(self.stage(records)))
            staging.drop(job.pk)
            Import.objects.filter(pk=job.pk).update(
                created=F("created") + result.created,
                updated=F("updated") + result.updated,
                unchanged=F("unchanged") + result.unchanged,
                duplicates=F("duplicates") + result.duplicates,
                targets_added=F("targets_added") + result.targets_added,
                heartbeat_at=timezone.now(),
            )
        job.created += result.created
        job.updated += result.updated
        job.unchanged += result.unchanged
        job.duplicates += result.duplicates
        job.targets_added += result.targets_added
        if self.on_progress is not None:
            self.on_progress(job)

    @staticmethod
    def _add(total: BatchResult, result: BatchResult) -> None:
        total.created += result.created
        total.updated += result.updated
        total.unchanged += result.unchanged
        total.duplicates += result.duplicates
        total.targets_added += result.targets_added
