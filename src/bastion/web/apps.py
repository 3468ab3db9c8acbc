from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "bastion.web"
    label = "web"

    def ready(self) -> None:
        brand_admin()


def brand_admin() -> None:
    """The admin carries Bastion's name and links back to the site ("View site").

    Set on whatever ``admin.site`` is (Django's, or a custom site made the default), so the
    branding stays in this one place whichever site class serves the admin.
    """
    from django.contrib import admin

    admin.site.site_header = "Bastion administration"
    admin.site.site_title = "Bastion admin"
    admin.site.index_title = "Operate this index"
    admin.site.site_url = "/"
