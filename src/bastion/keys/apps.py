from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "bastion.keys"
    label = "keys"
    verbose_name = "Security key program"
    default_auto_field = "django.db.models.BigAutoField"
