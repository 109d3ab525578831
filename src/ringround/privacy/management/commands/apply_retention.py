"""Erase the personal data of contacts whose campaigns all finished long enough ago, and purge
what imports keep (previews, rejected rows, abandoned uploads) once it is no longer useful,
export files older than RINGROUND_EXPORTS_KEEP_HOURS, and the phone line's numbers once no rule
needs them.

Run it daily (cron, a systemd timer): ``ringround manage apply_retention``."""

from django.core.management.base import BaseCommand, CommandError

from ringround.accounts import limits
from ringround.imports import copies
from ringround.privacy import services
from ringround.reports import exports
from ringround.telephony import services as telephony


class Command(BaseCommand):
    help = (
        "Erase the personal data of contacts whose every campaign finished more than "
        "RINGROUND_RETENTION_DAYS days ago (0 = retention off)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="override RINGROUND_RETENTION_DAYS")
        parser.add_argument(
            "--dry-run", action="store_true", help="only say how many would be erased"
        )

    def handle(self, *args, **options):
        if not options["dry_run"]:
            limits.purge()  # counts of sign-ins and sign-ups per address, past their window
            purged = copies.purge_copies()
            self.stdout.write(
                f"Imports: {purged['previews']} previews and {purged['rejected_rows']} rejected "
                f"rows purged, {purged['abandoned_uploads']} abandoned uploads deleted."
            )
            expired = exports.purge_exports()
            self.stdout.write(f"Exports: {expired} past their keep time deleted.")
            forgotten = telephony.forget_old_numbers() + telephony.forget_old_receipts()
            self.stdout.write(
                f"Phone line: {forgotten} numbers and receipts past their days forgotten."
            )
            destroyed = services.destroy_register_data()
            self.stdout.write(
                f"Electoral register: {destroyed} people past their source's destruction date "
                "erased."
            )
            opinions = services.erase_opinions()
            self.stdout.write(
                f"Political opinions: answers of {opinions} calls past their retention erased."
            )
        days = options["days"] if options["days"] is not None else services.retention_days()
        if days < 0:
            raise CommandError("--days must be 0 (off) or more.")
        if days == 0:
            self.stdout.write("Retention is off (RINGROUND_RETENTION_DAYS is 0): nothing erased.")
            return
        if options["dry_run"]:
            due = services.apply_retention(days, dry_run=True)
            self.stdout.write(
                f"Dry run: {due} contact{'s' if due != 1 else ''} past the {days}-day "
                "retention period would be erased. Nothing changed."
            )
            return
        erased = services.apply_retention(days)
        self.stdout.write(
            self.style.SUCCESS(
                f"Erased the personal data of {erased} contact{'s' if erased != 1 else ''} "
                f"past the {days}-day retention period."
            )
        )
