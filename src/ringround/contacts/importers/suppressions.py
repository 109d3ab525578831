"""Importing a do-not-call list (TPS or the party's own): one number per line, any form."""

from ringround.calling import targets
from ringround.contacts.models import Suppression

from .base import BaseImporter, BatchResult
from .contacts import IN_CHUNK


class SuppressionImporter(BaseImporter):
    kind = "suppressions"

    def write(self, records) -> BatchResult:
        result = BatchResult()
        numbers = list(dict.fromkeys(e164 for _row, e164 in records))
        known = set()
        for start in range(0, len(numbers), IN_CHUNK):
            known.update(
                Suppression.objects.filter(phone__in=numbers[start : start + IN_CHUNK]).values_list(
                    "phone", flat=True
                )
            )
        note = f"Imported from {self.job.original_name}"[:500]
        new = [
            Suppression(
                phone=e164,
                reason=self.job.suppression_reason,
                note=note,
                created_by_id=self.job.created_by_id,
            )
            for e164 in numbers
            if e164 not in known
        ]
        Suppression.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
        fresh = {s.phone for s in new}
        for _row, e164 in records:
            if e164 in fresh:
                fresh.discard(e164)
                result.created += 1
            else:
                result.unchanged += 1
                if e164 not in known:
                    result.duplicates += 1
        return result

    def finish(self) -> dict:
        """Targets already holding or waiting on a suppressed number stop, in every campaign."""
        return {"targets_stopped": targets.stop_suppressed()}
