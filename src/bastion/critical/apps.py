from django.apps import AppConfig


class CriticalConfig(AppConfig):
    name = "bastion.critical"
    label = "critical"
    verbose_name = "Critical projects"
    default_auto_field = "django.db.models.BigAutoField"
