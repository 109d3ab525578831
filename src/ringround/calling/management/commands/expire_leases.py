import time

from django.core.management.base import BaseCommand

from ringround.calling.rules import expire_leases


class Command(BaseCommand):
    help = (
        "Return lapsed leases to the pool (claims already treat them as free; this tidies figures)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--every", type=int, default=0, help="Repeat every N seconds.")

    def handle(self, *args, every=0, **options):
        while True:
            count = expire_leases()
            self.stdout.write(f"{count} lapsed leases returned to the pool")
            if not every:
                return
            time.sleep(every)
