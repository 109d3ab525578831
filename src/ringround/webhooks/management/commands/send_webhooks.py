"""``ringround manage send_webhooks``: send every delivery whose time has come and forget old
events. The task worker sends deliveries and their retries by itself; run this from cron as a
net under it (a task lost with a database restored from backup, a worker killed mid-send)."""

from django.core.management.base import BaseCommand

from ringround.webhooks import services


class Command(BaseCommand):
    help = "Send webhook deliveries that are due, and forget events older than the kept days"

    def handle(self, *args, **options):
        sent = services.send_due()
        purged = services.purge_old()
        self.stdout.write(f"{sent} attempts sent, {purged} old rows forgotten")
