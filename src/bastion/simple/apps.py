from django.apps import AppConfig


class SimpleConfig(AppConfig):
    name = "bastion.simple"
    label = "simple"

    def ready(self) -> None:
        from bastion.packaging.signals import project_changed
        from bastion.simple.services import mark_stale

        project_changed.connect(mark_stale, dispatch_uid="bastion.simple.refresh")
