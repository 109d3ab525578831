from django.core.management.base import BaseCommand

from ringround.phonebanks.services import send_due_reminders


class Command(BaseCommand):
    help = (
        "Email each volunteer signed up to a session starting soon one reminder, with its "
        "calendar file (run from cron, say every 10 minutes; a reminder is never sent twice)."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"{send_due_reminders()} session reminders sent")
