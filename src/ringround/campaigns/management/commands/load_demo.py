from django.core.management.base import BaseCommand

from ringround.demo import load_demo


class Command(BaseCommand):
    help = "Create (or find) the demo campaign with 500 fictional contacts and three logins."

    def handle(self, *args, **options):
        result = load_demo()
        campaign = result["campaign"]
        self.stdout.write(f"Demo campaign: {campaign.name} ({campaign.targets.count()} contacts)")
        for email, password in result["logins"].items():
            self.stdout.write(f"  {email:<24} {password}")
