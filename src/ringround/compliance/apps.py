from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "ringround.compliance"
    label = "compliance"
    verbose_name = "Compliance (PECR, TPS, UK GDPR)"
