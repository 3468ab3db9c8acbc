from django.apps import AppConfig


class MfaConfig(AppConfig):
    name = "bastion.mfa"
    label = "mfa"
    verbose_name = "Two-factor authentication"
