from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "ringround.campaigns"
    label = "campaigns"
