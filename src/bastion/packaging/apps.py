from django.apps import AppConfig


class PackagingConfig(AppConfig):
    name = "bastion.packaging"
    label = "packaging"
