"""``ringround backup FILE.json.gz``: every row of Ringround's data, as portable gzipped JSON."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ringround.backups import services


class Command(BaseCommand):
    help = (
        "Write a portable backup (gzipped JSON) of everything Ringround holds. It works on "
        "SQLite and PostgreSQL alike, and restores onto either with `ringround restore`."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file",
            nargs="?",
            metavar="FILE.json.gz",
            help="where to write it (default: ringround-YYYYMMDD-HHMM.json.gz here)",
        )
        parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")

    def handle(self, *args, **options):
        name = options["file"] or f"ringround-{timezone.now():%Y%m%d-%H%M}.json.gz"
        path = Path(name)
        if path.exists() and not options["force"]:
            raise CommandError(f"{path} already exists; pass --force to overwrite it.")
        if not path.parent.is_dir():
            raise CommandError(f"There is no folder {path.parent}.")
        self.stdout.write(f"Backing up to {path} …")
        try:
            counts = services.write_backup(path, progress=self.stdout.write)
        except OSError as exc:
            raise CommandError(f"Could not write {path}: {exc}") from exc
        total = sum(counts.values())
        size = path.stat().st_size
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up {total:,} rows of {len(counts)} kinds to {path} "
                f"({size / 1_048_576:.1f} MB). It holds personal data: keep it safe."
            )
        )
