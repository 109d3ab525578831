"""``ringround restore FILE.json.gz``: load a backup, all of it or none of it."""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from ringround.backups import services


class Command(BaseCommand):
    help = (
        "Restore a backup made by `ringround backup`, in one transaction: if anything fails, "
        "the database is left as it was. Refuses a database that holds data unless --replace."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE.json.gz")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="delete everything in the database first, then restore",
        )

    def handle(self, *args, **options):
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            self.stdout.write("Setting up the database tables first (migrate) …")
            call_command("migrate", interactive=False, verbosity=0)
        try:
            counts = services.restore_backup(
                options["file"], replace=options["replace"], progress=self.stdout.write
            )
        except services.BackupError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {sum(counts.values()):,} rows of {len(counts)} kinds from "
                f"{options['file']}."
            )
        )
