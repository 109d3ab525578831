from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "ringround.audit"
    label = "audit"
    verbose_name = "Audit trail"
