"""What the privacy commands share: finding people by --phone or --email."""

from django.core.management.base import CommandError

from ringround.privacy import services


def add_lookup_arguments(parser) -> None:
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--phone", help="the person's number, in any form typed")
    who.add_argument("--email", help="the person's email address")


def search_from(options) -> services.Search:
    kind = "phone" if options.get("phone") else "email"
    try:
        return services.parse_search(options.get(kind) or "", kind=kind)
    except services.PrivacyError as exc:
        raise CommandError(str(exc)) from exc
