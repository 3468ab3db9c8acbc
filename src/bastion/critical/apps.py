from django.apps import AppConfig


class CriticalConfig(AppConfig):
    name = "bastion.critical"
    label = "critical"
    verbose_name = "Critical projects"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save, pre_delete, pre_save

        from bastion.critical import signals
        from bastion.packaging.models import Project

        pre_delete.connect(signals.remember_stewards, sender=Project, dispatch_uid="critical.stew")
        pre_save.connect(signals.note_old_name, sender=Project, dispatch_uid="critical.old_name")
        post_save.connect(
            signals.carry_over_on_rename, sender=Project, dispatch_uid="critical.rename"
        )
