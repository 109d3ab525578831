"""What an import will do, said before it runs: how many contacts it will create, update and
leave unchanged, how many rows it will reject and why, and who appears twice.

One rule, not two: the prediction runs the import's own code on the file's first rows — the
same cleaning (``rows.prepare_batch`` under the plan ``ContactImporter.plan`` builds) and the
same matching and merging (``ContactImporter.match``, which only reads the database) — and
writes nothing. On a file no bigger than one batch the import's counts are the prediction's.

It is worked out while the organiser waits for the mapping page, so it is bounded: it reads at
most ``PREDICT_ROWS`` rows and stops reading once ``PREDICT_SECONDS`` have gone, whichever
comes first, and says how much of the file it read ("from the first 5,000 of ~1,000,000
rows"). A file's first rows are how people check a mapping anyway; the rest of the file is
the import's to read, in the background, with its progress on the page.
"""

import copy
from dataclasses import dataclass, field
from itertools import islice
from time import monotonic

from .contacts import ContactImporter
from .mapping import check_mapping
from .models import REPEAT_EFFECTS, Import, repeats_name
from .readers import FileProblem, open_rows
from .rows import prepare_batch, summarise_rejects, top_reasons

PREDICT_ROWS = 5_000
PREDICT_SECONDS = 1.5
CHUNK = 500  # rows cleaned between looks at the clock


@dataclass
class Prediction:
    repeats: str = Import.Repeats.FILL_BLANKS
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0  # rows repeating someone earlier in the file
    reasons: list = field(default_factory=list)
    whole_file: bool = True
    records_read: int = 0  # records of the file looked at, blank ones too
    estimated_records: int = 0  # in the whole file, when it was not read to the end
    problems: list = field(default_factory=list)

    @property
    def stored(self) -> int:
        """Rows that are people already stored (updated or unchanged, and not a repeat)."""
        return self.updated + self.unchanged - self.duplicates

    @property
    def repeats_name(self) -> str:
        return repeats_name(self.repeats)

    @property
    def repeats_effect(self) -> str:
        return REPEAT_EFFECTS[self.repeats]

    def counts(self) -> dict:
        return {
            "read": self.rows_read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


def predict(
    job: Import,
    *,
    mapping: list[str] | None = None,
    repeats: str | None = None,
    limit: int | None = None,
    seconds: float | None = None,
    clock=monotonic,
) -> Prediction:
    """What importing ``job``'s file with ``mapping`` and the rule ``repeats`` (by default
    the import's own) would do, from at most ``limit`` rows (``PREDICT_ROWS``) or ``seconds``
    of work (``PREDICT_SECONDS``)."""
    limit = PREDICT_ROWS if limit is None else limit
    seconds = PREDICT_SECONDS if seconds is None else seconds
    trial = copy.copy(job)  # never saved: the organiser may still change their mind
    trial.mapping = list(job.mapping if mapping is None else mapping)
    trial.repeats = repeats or job.repeats
    prediction = Prediction(repeats=trial.repeats)
    prediction.problems = check_mapping(trial.headers, trial.mapping, kind=trial.kind)
    if prediction.problems:
        return prediction
    importer = ContactImporter(trial, workers=1)
    plan = importer.plan()
    deadline = clock() + seconds
    records, summary = [], {}
    try:
        with open_rows(trial.file_path, trial.file_info()) as rows:
            iterator = iter(rows)
            while prediction.records_read < limit:
                chunk = list(islice(iterator, min(CHUNK, limit - prediction.records_read)))
                if not chunk:
                    break
                prediction.records_read += len(chunk)
                cleaned, rejects, blank = prepare_batch(plan, chunk)
                records += cleaned
                summarise_rejects(summary, rejects)
                prediction.rejected += len(rejects)
                prediction.rows_read += len(chunk) - blank
                if clock() > deadline:
                    break
            prediction.whole_file = next(iterator, None) is None
            if not prediction.whole_file:
                prediction.estimated_records = _estimate(prediction.records_read, rows)
    except (FileProblem, OSError) as exc:
        prediction.problems = [f"The file cannot be read: {exc}"]
        return prediction
    result = importer.match(records).result
    prediction.created, prediction.updated = result.created, result.updated
    prediction.unchanged, prediction.duplicates = result.unchanged, result.duplicates
    prediction.reasons = top_reasons(summary)
    return prediction


def _estimate(records_read: int, rows) -> int:
    """How many records the whole file holds, roughly: the records read, scaled by how far
    through the file they reach (its bytes for CSV, its declared rows for XLSX)."""
    done, total = rows.done, rows.total
    if not done or not total:
        return 0
    return round_roughly(max(records_read * total / done, records_read))


def round_roughly(n: float) -> int:
    """To two significant figures: 1,003,417 -> 1,000,000."""
    n = int(n)
    if n < 100:
        return n
    digits = len(str(n)) - 2
    return round(n, -digits)
