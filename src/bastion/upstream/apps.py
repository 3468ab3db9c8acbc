from django.apps import AppConfig


class UpstreamConfig(AppConfig):
    name = "bastion.upstream"
    label = "upstream"
    verbose_name = "Upstream index"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bastion.packaging.signals import project_changed
        from bastion.upstream.services import forget_when_hosted_here

        # A name hosted here must never be served from the upstream cache again.
        project_changed.connect(forget_when_hosted_here, dispatch_uid="upstream-forget-hosted")
