"""Erase a person's personal data (a right-to-erasure request), keeping anonymous call counts."""

from django.core.management.base import BaseCommand, CommandError

from ringround.privacy import services

from ._lookup import add_lookup_arguments, search_from


class Command(BaseCommand):
    help = (
        "Erase the personal data of the contacts holding --phone or --email, suppress their "
        "numbers, and keep the anonymous counts of their calls. Asks first unless --yes."
    )

    def add_arguments(self, parser):
        add_lookup_arguments(parser)
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, **options):
        search = search_from(options)
        contacts = [c for c in services.find_contacts(search) if not services.is_erased(c)]
        if not contacts:
            raise CommandError(f"No contact (not already erased) holds that {search.kind}.")
        self.stdout.write(f"{len(contacts)} contact{'s' if len(contacts) != 1 else ''} found:")
        for contact in contacts:
            self.stdout.write(
                f"  {contact.public_id}  {contact.full_name or '(no name)'}  {contact.phone}"
                f"{'  ' + contact.email if contact.email else ''}"
            )
        if not options["yes"]:
            answer = input("Erase their personal data for good? Type 'yes' to go on: ")
            if answer.strip().lower() != "yes":
                raise CommandError("Nothing erased.")
        for contact in contacts:
            result = services.erase_contact(contact)
            self.stdout.write(
                f"Erased {contact.public_id}: {result.calls} calls kept without personal data, "
                f"{result.numbers_suppressed} numbers suppressed."
            )
        self.stdout.write(self.style.SUCCESS("Done."))
