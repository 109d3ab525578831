"""``ringround manage dialer``: the predictive dialer. Every second, each campaign dialing
predictively gets the lines its pacing allows; old callback receipts are forgotten. Several may
run at once (each claim takes different people); ``--once`` runs one round (cron, tests)."""

import time

from django.core.management.base import BaseCommand, CommandError

from ringround.telephony import dialer, services


class Command(BaseCommand):
    help = "Run the predictive dialer (lines paced to Ofcom's abandonment rules)"

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one round, then stop")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between rounds")

    def handle(self, *args, once=False, interval=1.0, **options):
        base = services.public_base()
        if not base:
            raise CommandError(
                "Set RINGROUND_SITE_URL to the address the provider reaches Ringround at."
            )
        while True:
            placed = sum(
                len(dialer.tick(d.campaign, base=base)) for d in dialer.predictive_campaigns()
            )
            services.forget_old_receipts()
            if once:
                self.stdout.write(f"{placed} lines dialed")
                return
            time.sleep(interval)
