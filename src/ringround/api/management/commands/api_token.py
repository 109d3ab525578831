"""``ringround manage api_token create EMAIL NAME`` / ``revoke PREFIX`` / ``list [EMAIL]``."""

from django.core.management.base import BaseCommand, CommandError

from ringround.accounts.models import User
from ringround.api import services
from ringround.api.models import ApiToken


class Command(BaseCommand):
    help = "Create, list or revoke API tokens. A new token is printed once and never again."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a token for a person")
        create.add_argument("email")
        create.add_argument("name", help="what the token is for")
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix (rr_…)")
        revoke.add_argument("prefix")
        listing = sub.add_parser("list", help="list tokens (never their secrets)")
        listing.add_argument("email", nargs="?")

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    def do_create(self, email, name, **_):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"Nobody has the email address {email}.")
        _, token = services.create_token(user, name)
        self.stdout.write(token)
        self.stderr.write("Keep this token safe: it is shown only this once.")

    def do_revoke(self, prefix, **_):
        tokens = list(ApiToken.objects.filter(prefix=prefix, revoked_at__isnull=True))
        if len(tokens) != 1:
            raise CommandError(
                f"{len(tokens)} live tokens start with {prefix!r}: give the 8-character prefix."
            )
        services.revoke_token(tokens[0])
        self.stdout.write(f"Revoked {tokens[0]}.")

    def do_list(self, email=None, **_):
        tokens = ApiToken.objects.select_related("user").order_by("user__email", "-created_at")
        if email:
            tokens = tokens.filter(user__email__iexact=email.strip())
        for t in tokens:
            state = "revoked" if t.revoked else "live"
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            self.stdout.write(f"{t.prefix}  {t.user.email}  {t.name}  {state}  last used {used}")
