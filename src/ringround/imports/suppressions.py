"""Importing a do-not-call list (TPS or the party's own): one number per line, any form."""

from ringround.calling import targets
from ringround.contacts import bulk

from .base import BaseImporter, BatchResult


class SuppressionImporter(BaseImporter):
    kind = "suppressions"

    def write(self, records) -> BatchResult:
        result = BatchResult()
        fresh = bulk.add_suppressions(
            records,
            reason=self.job.suppression_reason,
            note=f"Imported from {self.job.original_name}",
            by_id=self.job.created_by_id,
        )
        known = set(records) - fresh
        seen = set()
        for e164 in records:
            if e164 in fresh and e164 not in seen:
                result.created += 1
            else:
                result.unchanged += 1
                if e164 not in known:
                    result.duplicates += 1
            seen.add(e164)
        return result

    def finish(self) -> dict:
        """Targets already holding or waiting on a suppressed number stop, in every campaign."""
        return {"targets_stopped": targets.stop_suppressed()}
