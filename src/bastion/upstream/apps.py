from django.apps import AppConfig


class UpstreamConfig(AppConfig):
    name = "bastion.upstream"
    label = "upstream"
    verbose_name = "Upstream index"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from bastion.packaging.models import Project
        from bastion.packaging.signals import project_changed
        from bastion.upstream.services import forget_when_hosted_here, record_hosted_name

        # A name hosted here must never be served from the upstream cache again.
        post_save.connect(record_hosted_name, sender=Project, dispatch_uid="upstream-hosted-name")
        project_changed.connect(forget_when_hosted_here, dispatch_uid="upstream-forget-hosted")
