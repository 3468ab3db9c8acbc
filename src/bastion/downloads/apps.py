from django.apps import AppConfig


class DownloadsConfig(AppConfig):
    name = "bastion.downloads"
    label = "downloads"
