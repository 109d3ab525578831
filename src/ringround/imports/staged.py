"""Importing contacts at the speed of COPY (PostgreSQL, big files).

The file is read and cleaned exactly as by the batch importer (``rows``: the worker processes
clean each batch into COPY text), but no row is matched in Python while the file is read:
each batch's keys are looked up in the database in one query, and in the batch's one
transaction (with its rejected rows and the import's position, so a stopped import resumes
after the last batch written) its new people — keys nobody has, the great majority of a real
list — are COPYed straight into contacts, and the rest into the import's staging table
(``contacts.staged``). At the end one transaction matches and merges the staged rows through
the batch importer's own matching and merging (``contacts.ContactImporter.match`` /
``apply``), batch by batch as that importer would have met them, with the ids it would have
given them (each row's id is reserved when its batch is written). The result is the batch
importer's, row for row (``tests/imports/test_staged_equivalence.py``).

The difference a person sees: the people repeated in the file, or already known, are merged
at the end, all at once, rather than batch by batch.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ringround.calling import targets
from ringround.contacts import bulk
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
from .rows import pack_rows, prepare_staged, prepare_staged_in_worker, unpack_staged


class StagedContactImporter(ContactImporter):
    pipelined = False  # everything is written by the merge, in one transaction

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_batch = 0
        self.staged_phones: set[str] = set()
        self.staged_ids: set[str] = set()

    # -- cleaning: COPY text from the workers --------------------------------------------------

    def _clean_here(self, plan, batch, index):
        return prepare_staged(plan, batch, self.first_batch + index)

    def _clean_in_worker(self, pool, batch, index):
        return pool.submit(prepare_staged_in_worker, pack_rows(batch), self.first_batch + index)

    def _from_worker(self, result):
        return unpack_staged(result)

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> bool:
        with rare_cyclic_gc(), one_import_at_a_time():
            if not self._stage():
                return False
            self._merge()
            return True

    def _stage(self) -> bool:
        """Write the rest of the file, batch by batch; ``False`` if stopped early."""
        job = self.job
        self._check_staging()
        self.staged_phones, self.staged_ids = staging.staged_keys(job.pk)
        self.first_batch = -(-job.position // self.batch_size)  # after every batch staged
        plan = self.plan()
        with open_rows(job.file_path, job.file_info(), skip=job.position) as rows:
            prepared = self._prepared(plan, _batched(rows, self.batch_size))
            try:
                for index, (batch_len, progress, cleaned) in enumerate(prepared):
                    result = BatchResult()
                    with transaction.atomic():
                        batch_settings()
                        result = self._write_batch(self.first_batch + index, cleaned)
                        self._record(batch_len, result, cleaned.rejects, cleaned.blank, progress)
                    self._recorded(batch_len, result, cleaned.rejects, cleaned.blank, progress)
                    self.staged_batches += 1
                    if (
                        self.stop_after_batches is not None
                        and self.staged_batches >= self.stop_after_batches
                    ):
                        return False
            finally:
                prepared.close()
        return True

    def _write_batch(self, number: int, cleaned) -> BatchResult:
        """One batch: its new people into contacts, the rest into the staging table."""
        job = self.job
        result = BatchResult()
        count = len(cleaned.bodies)
        if not count:
            return result
        ids = bulk.reserve_ids(count)  # in file order, as the batch importer's new people
        phones, external_ids = cleaned.phones, cleaned.external_ids
        found_phones, found_ids = staging.known_keys(job.team_id, phones, external_ids)
        # Rows staged earlier by this import: their keys are kept here (a few per cent of the
        # rows), cheaper than asking the database for every key of every batch.
        found_phones |= self.staged_phones
        found_ids |= self.staged_ids
        held = set(cleaned.repeated)
        held.update(i for i, phone in enumerate(phones) if phone in found_phones)
        held.update(i for i, key in enumerate(external_ids) if key and key in found_ids)
        bodies = cleaned.bodies
        stamp = timezone.now().isoformat()
        prefix = f"\t{job.team_id}\t{stamp}\t{stamp}\t"
        staging.copy_contacts(
            "".join([f"{ids[i]}{prefix}{bodies[i]}\n" for i in cleaned.order if i not in held])
        )
        if held:
            # Ids for the held rows that turn out to be new people, after the batch's others
            # (as the batch importer gives them: rows it had to match come last).
            held = sorted(held)
            rest = bulk.reserve_ids(len(held))
            self.staged_phones.update(phones[i] for i in held)
            self.staged_ids.update(external_ids[i] for i in held if external_ids[i])
            numbers = cleaned.numbers
            staging.copy_in(
                job.pk,
                "".join(
                    [
                        f"{number}\t{numbers[i]}\t{ids[i]}\t{rest_id}\t{bodies[i]}\n"
                        for i, rest_id in zip(held, rest, strict=True)
                    ]
                ),
            )
        result.created = count - len(held)
        self.statistics.grew(result.created)
        if job.campaign_id and result.created:
            zones = cleaned.zones
            held = set(held)
            result.targets_added = targets.add_contact_rows(
                job.campaign_id,
                ((ids[i], phones[i], zones[i]) for i in range(count) if i not in held),
            )
        return result

    def _check_staging(self) -> None:
        """The staging table holds exactly the rows the import counted as staged (read, not
        rejected, not created); else (it was emptied: an erasure) the file is staged again
        from its start, and the people already stored from it are met as known."""
        job = self.job
        if job.position and staging.exists(job.pk):
            if staging.count(job.pk) == job.rows_read - job.rejected - job.created:
                return
        with transaction.atomic():
            staging.prepare(job.pk, empty=True)
            RejectedRow.objects.filter(source_import_id=job.pk).delete()
            Import.objects.filter(pk=job.pk).update(
                position=0,
                rows_read=0,
                rejected=0,
                created=0,
                targets_added=0,
                rejection_summary={},
                progress_done=0,
            )
        job.position = job.rows_read = job.rejected = job.progress_done = 0
        job.created = job.targets_added = 0
        job.rejection_summary = {}
        self.rejection_summary = {}

    def _merge(self) -> None:
        """The staged rows matched and merged, in one transaction (see ``contacts.staged``)."""
        job = self.job
        result = BatchResult()
        with transaction.atomic():
            batch_settings()
            for records, fast_ids, rest_ids in staging.rows_by_batch(job.pk):
                staged = self.match(records)
                fast = {id(record): pk for record, pk in zip(records, fast_ids, strict=True)}
                rest = sorted(rest_ids)
                staged.ids = [fast[id(row)] for row in staged.new[: staged.fast]] + rest[
                    : len(staged.new) - staged.fast
                ]
                self._add(result, self.apply(staged))
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
