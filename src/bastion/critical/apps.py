from django.apps import AppConfig


class CriticalConfig(AppConfig):
    name = "bastion.critical"
    label = "critical"
    verbose_name = "Critical projects"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import pre_delete

        from bastion.critical.deletions import keep_stewards
        from bastion.packaging.models import Project

        def remember_stewards(sender, instance: Project, **kwargs) -> None:
            keep_stewards(instance)

        pre_delete.connect(
            remember_stewards, sender=Project, weak=False, dispatch_uid="critical.stewards"
        )
