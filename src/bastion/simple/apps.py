from django.apps import AppConfig


class SimpleConfig(AppConfig):
    name = "bastion.simple"
    label = "simple"

    def ready(self) -> None:
        from bastion.packaging.signals import project_changed
        from bastion.simple.services import refresh_after_change

        project_changed.connect(refresh_after_change, dispatch_uid="bastion.simple.refresh")
