"""The base importer: reading, validating, deduplicating and bulk writing, batch by batch.

A run streams the file's rows in batches. Each batch is cleaned (``rows.prepare_batch``; in
worker processes for big files, since phone parsing is the cost) and then written in **one
transaction together with the import's counters and position**. So a crash or kill loses at most
the batch in flight, the counters always describe what is stored, and running the import again
resumes after the last committed batch without importing anything twice.

A source is a short subclass saying how a batch of clean records is written
(``contacts.ContactImporter``, ``suppressions.SuppressionImporter``); the tables of contacts
and suppressions are written by their owner, ``contacts.bulk``.
"""

import copy
import gc
import multiprocessing
import os
import queue
import threading
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ringround.contacts.models import CONTACT_FIELDS, Contact

from .mapping import custom_keys
from .models import Import, RejectedRow
from .readers import open_rows
from .rows import (
    Plan,
    build_plan,
    init_worker,
    pack_rows,
    prepare_batch,
    prepare_in_worker,
    summarise_rejects,
    unpack_records,
)

BIG_FILE_BYTES = 4 * 1024 * 1024  # smaller files are quicker without worker processes


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    targets_added: int = 0
    extra: dict = field(default_factory=dict)


class BaseImporter:
    kind: str = ""

    def __init__(
        self,
        job: Import,
        *,
        batch_size: int | None = None,
        workers: int | None = None,
        on_progress=None,
        stop_after_batches: int | None = None,
    ):
        self.job = job
        self.batch_size = batch_size or settings.RINGROUND_IMPORT_BATCH
        self.workers = self._workers(workers)
        self.on_progress = on_progress
        self.stop_after_batches = stop_after_batches
        self.staged_batches = 0
        # Rejections by kind of reason, carried on from what a resumed import had counted.
        self.rejection_summary = copy.deepcopy(job.rejection_summary or {})

    # -- what a source provides ---------------------------------------------------------------
    #
    # A batch is *staged* (matched and merged, reading the database) and then *applied*
    # (written, in one transaction with the import's counters). A simple source just writes.

    pipelined = False  # stage the next batch while a thread writes this one

    def write(self, records) -> BatchResult:
        """Write one batch of clean records (inside the batch's transaction)."""
        raise NotImplementedError

    def stage(self, records):
        return records

    def apply(self, staged) -> BatchResult:
        return self.write(staged)

    def committed(self, batch: int) -> None:
        """Batch number ``batch`` is committed (pipelined runs)."""

    def finish(self) -> dict:
        """Once, after the last batch: anything to do over the whole import."""
        return {}

    # -- the run -----------------------------------------------------------------------------

    def plan(self) -> Plan:
        job = self.job
        return build_plan(
            job.kind,
            job.headers,
            job.mapping,
            fields=CONTACT_FIELDS,
            max_lengths=[
                (field.name, field.max_length, str(field.verbose_name))
                for field in Contact._meta.concrete_fields
                if field.name in CONTACT_FIELDS and field.max_length
            ],
            default_country=job.default_country,
            tags=job.tags,
            custom=custom_keys(job.headers, job.mapping),
            source=job.source_label,
        )

    def run(self) -> bool:
        """Import from the saved position to the end; ``False`` if stopped early."""
        with rare_cyclic_gc():
            return self._run()

    def _run(self) -> bool:
        plan = self.plan()
        with (
            one_import_at_a_time(),
            open_rows(self.job.file_path, self.job.file_info(), skip=self.job.position) as rows,
        ):
            batches = _batched(rows, self.batch_size)
            prepared = self._prepared(plan, batches)
            writer = BatchWriter(self) if self.pipelined else None
            try:
                for batch_len, progress, cleaned in prepared:
                    if writer is None:
                        self._commit(batch_len, cleaned, progress)
                    else:
                        self._stage_for(writer, batch_len, cleaned, progress)
                    self.staged_batches += 1
                    if (
                        self.stop_after_batches is not None
                        and self.staged_batches >= self.stop_after_batches
                    ):
                        break
                else:
                    if writer is not None:
                        writer.close()
                    return True
                if writer is not None:
                    writer.close()
                return False
            finally:
                if writer is not None:
                    writer.abort()
                prepared.close()

    def _stage_for(self, writer, batch_len, cleaned, progress) -> None:
        for batch in writer.committed():
            self.committed(batch)
        records, rejects, blank = cleaned
        staged = self.stage(records)
        writer.submit((self.staged_batches, batch_len, staged, rejects, blank, progress))

    # How a batch is cleaned, here or in a worker process, and what comes back (the staged
    # importer has the workers write COPY text instead).

    def _clean_here(self, plan, batch, index):
        return prepare_batch(plan, batch)

    def _clean_in_worker(self, pool, batch, index):
        return pool.submit(prepare_in_worker, pack_rows(batch))

    def _from_worker(self, result):
        records, rejects, blank = result
        return unpack_records(records), rejects, blank

    def _prepared(self, plan, batches):
        """``(rows_in_batch, (done, total), cleaned)`` in file order; ``cleaned`` is
        ``(records, rejects, blank)``."""
        if self.workers <= 1:
            for index, (batch, progress) in enumerate(batches):
                yield len(batch), progress, self._clean_here(plan, batch, index)
            return
        # forkserver: workers start from a clean process, not a copy of this one with its
        # database connection and threads. What they run imports nothing from Django.
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(
            self.workers,
            mp_context=context,
            initializer=init_worker,
            initargs=(plan, os.getpid()),
        ) as pool:
            # A thread reads the file and hands batches to the workers while this one waits on
            # the database; a few batches in flight keep everyone busy without reading ahead.
            in_flight = queue.Queue(maxsize=self.workers * 2)
            stop = threading.Event()

            def feed():
                try:
                    for index, (batch, progress) in enumerate(batches):
                        item = (len(batch), progress, self._clean_in_worker(pool, batch, index))
                        while not stop.is_set():
                            try:
                                in_flight.put(item, timeout=0.2)
                                break
                            except queue.Full:
                                continue
                        if stop.is_set():
                            return
                    in_flight.put(None)
                except BaseException as exc:  # handed to the consumer, raised there
                    in_flight.put(exc)

            reader = threading.Thread(target=feed, name="import-reader", daemon=True)
            reader.start()
            try:
                while (item := in_flight.get()) is not None:
                    if isinstance(item, BaseException):
                        raise item
                    count, progress, future = item
                    yield count, progress, self._from_worker(future.result())
            finally:
                stop.set()
                while reader.is_alive():
                    try:
                        leftover = in_flight.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    if isinstance(leftover, tuple):
                        leftover[2].cancel()
                reader.join()

    def _commit(self, batch_len, prepared, progress) -> None:
        records, rejects, blank = prepared
        with transaction.atomic():
            batch_settings()
            result = self.apply(self.stage(records))
            self._record(batch_len, result, rejects, blank, progress)
        self._recorded(batch_len, result, rejects, blank, progress)

    def _write_staged(self, batch_len, staged, rejects, blank, progress) -> None:
        """In the writer thread: one staged batch, its rejections and counters, committed."""
        with transaction.atomic():
            batch_settings()
            result = self.apply(staged)
            self._record(batch_len, result, rejects, blank, progress)
        self._recorded(batch_len, result, rejects, blank, progress)

    def _record(self, batch_len, result, rejects, blank, progress) -> None:
        summary = {}
        if rejects:
            summary["rejection_summary"] = summarise_rejects(self.rejection_summary, rejects)
            RejectedRow.objects.bulk_create(
                [
                    RejectedRow(
                        source_import_id=self.job.pk,
                        row_number=number,
                        reason=reason[:500],
                        values=cells,
                    )
                    for number, reason, cells in rejects
                ],
                batch_size=500,
            )
        Import.objects.filter(pk=self.job.pk).update(
            position=F("position") + batch_len,
            rows_read=F("rows_read") + (batch_len - blank),
            created=F("created") + result.created,
            updated=F("updated") + result.updated,
            unchanged=F("unchanged") + result.unchanged,
            rejected=F("rejected") + len(rejects),
            duplicates=F("duplicates") + result.duplicates,
            targets_added=F("targets_added") + result.targets_added,
            progress_done=progress[0],
            progress_total=progress[1],
            heartbeat_at=timezone.now(),
            **summary,
        )

    def _recorded(self, batch_len, result, rejects, blank, progress) -> None:
        job = self.job
        job.position += batch_len
        job.rows_read += batch_len - blank
        job.created += result.created
        job.updated += result.updated
        job.unchanged += result.unchanged
        job.rejected += len(rejects)
        job.duplicates += result.duplicates
        job.targets_added += result.targets_added
        job.rejection_summary = self.rejection_summary
        job.progress_done, job.progress_total = progress
        if self.on_progress is not None:
            self.on_progress(job)

    def _workers(self, requested: int | None) -> int:
        if requested is not None:
            return max(1, requested)
        configured = settings.RINGROUND_IMPORT_WORKERS
        if configured is not None:
            return max(1, configured)
        if self.job.size_bytes < BIG_FILE_BYTES:
            return 1
        return max(1, min(os.cpu_count() or 1, 4))


def _batched(rows, size):
    """Lists of ``size`` rows, each with how far through the file it ends."""
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch, (rows.done, rows.total)


@contextmanager
def rare_cyclic_gc():
    """An import allocates millions of short-lived tuples and lists and almost no reference
    cycles: the cyclic collector walking them again and again is wasted work."""
    thresholds = gc.get_threshold()
    gc.set_threshold(200_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


# -- writing in a thread, one import at a time ------------------------------------------------

_IMPORT_LOCK = 7_246_113_001


@contextmanager
def one_import_at_a_time():
    """On PostgreSQL imports take turns (a session lock, released if the process dies), so two
    never both create the same person. SQLite's write transactions take turns already."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_IMPORT_LOCK])
        # Contacts are only ever looked up by key here (see batch_settings).
        cursor.execute("SET enable_seqscan = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_IMPORT_LOCK])


def import_running() -> bool | None:
    """PostgreSQL: whether any import is running now (its process holds the lock); ``None``
    where that cannot be known (SQLite), and the heartbeat must tell.

    One statement that tries the lock and, if it got it, lets it go again: behind PgBouncer in
    transaction pooling two statements may reach two server connections, and the lock taken
    by the first would then stay held by a connection nobody releases it on (every import
    after it waiting, every running one looking alive)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN pg_try_advisory_lock(%s) THEN NOT pg_advisory_unlock(%s) "
            "ELSE true END",
            [_IMPORT_LOCK, _IMPORT_LOCK],
        )
        return cursor.fetchone()[0]


def batch_settings() -> None:
    """Per batch transaction on PostgreSQL (see the comments)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # Not waiting for each batch's WAL flush is safe: the batch and the import's position
        # commit together, so a crash can only lose whole batches, which the resumed import
        # writes again.
        cursor.execute("SET LOCAL synchronous_commit = off")
        # A batch only looks contacts up by key. While the table grows faster than its
        # statistics the planner takes it for small and scans all of it for every batch (a
        # third of a million-row import's time); keys are always looked up by index.
        cursor.execute("SET LOCAL enable_seqscan = off")


class BatchWriter:
    """A thread (with its own database connection) that applies staged batches in order,
    each in its own transaction, while the importer stages the next one."""

    def __init__(self, importer: BaseImporter):
        self.importer = importer
        self.inbox: queue.Queue = queue.Queue(maxsize=1)
        self.done: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="import-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from django.db import connection as thread_connection

        try:
            while (item := self.inbox.get()) is not None:
                if self.stopping.is_set():
                    continue
                batch, *args = item
                self.importer._write_staged(*args)
                self.done.put(batch)
        except BaseException as exc:  # raised in the importer's thread
            self.error = exc
            while self.inbox.get() is not None:
                pass
        finally:
            thread_connection.close()

    def submit(self, item) -> None:
        while True:
            self._raise()
            try:
                self.inbox.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def committed(self):
        while True:
            self._raise()
            try:
                yield self.done.get_nowait()
            except queue.Empty:
                return

    def close(self) -> None:
        """Wait for every batch to be written."""
        self.submit(None)
        self.thread.join()
        self._raise()

    def abort(self) -> None:
        if not self.thread.is_alive():
            return
        self.stopping.set()
        while self.thread.is_alive():
            try:
                self.inbox.put(None, timeout=0.2)
                break
            except queue.Full:
                continue
        self.thread.join()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error
