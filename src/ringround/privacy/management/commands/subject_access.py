"""Write everything held about a person to a JSON file (a subject access request)."""

import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from ringround.privacy import services

from ._lookup import add_lookup_arguments, search_from


class Command(BaseCommand):
    help = "Write everything held about a person (found by --phone or --email) to OUT.json."

    def add_arguments(self, parser):
        add_lookup_arguments(parser)
        parser.add_argument("out", metavar="OUT.json", help="the file to write")

    def handle(self, *args, **options):
        search = search_from(options)
        contacts = list(services.find_contacts(search))
        if not contacts:
            raise CommandError(f"No contact holds that {search.kind}; nothing written.")
        report = services.subject_access(contacts, search=search)
        out = Path(options["out"])
        try:
            # Personal data: readable by the owner only.
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(report, handle, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
        except OSError as exc:
            raise CommandError(f"Could not write {out}: {exc.strerror}") from exc
        calls = sum(len(c["calls"]) for c in report["contacts"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {out}: {len(contacts)} contact{'s' if len(contacts) != 1 else ''}, "
                f"{calls} call{'s' if calls != 1 else ''}."
            )
        )
