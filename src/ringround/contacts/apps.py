from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "ringround.contacts"
    label = "contacts"
