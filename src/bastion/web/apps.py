from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class WebConfig(AppConfig):
    name = "bastion.web"
    label = "web"


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin app with :class:`~bastion.web.admin_site.BastionAdminSite` as
    ``admin.site``, so every ``@admin.register`` and ``admin.site.urls`` use it."""

    default = False  # "bastion.web" itself is WebConfig; this one is named in INSTALLED_APPS
    default_site = "bastion.web.admin_site.BastionAdminSite"
