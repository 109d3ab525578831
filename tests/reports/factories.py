"""Exports for tests: made as the page makes them, written at once in this process."""

from ringround.reports import exports


def done_export(campaign, kind="calls", file_format="csv", by=None):
    job = exports.create_export(campaign, kind, file_format, by=by)
    return exports.run_export(job)


def export_ids(campaign) -> dict:
    """The permission table's value for routes naming an export: a finished one, with a file."""
    return {"export_id": done_export(campaign).public_id}
