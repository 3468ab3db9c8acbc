from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "bastion.publishing"
    label = "publishing"
    verbose_name = "Trusted publishing"
