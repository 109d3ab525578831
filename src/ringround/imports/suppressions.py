"""Importing a do-not-call list (TPS or the party's own): one number per line, any form. It
goes on the import's team's list, or for an admin's list with no team, on every team's."""

from ringround.calling import targets
from ringround.contacts import bulk

from .base import BaseImporter, BatchResult


class SuppressionImporter(BaseImporter):
    kind = "suppressions"

    def write(self, records) -> BatchResult:
        result = BatchResult()
        fresh = bulk.add_suppressions(
            records,
            team_id=self.job.team_id,
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
        """Targets already holding or waiting on a suppressed number stop, in every campaign
        the list applies to."""
        return {"targets_stopped": targets.stop_suppressed(self.job.team)}
