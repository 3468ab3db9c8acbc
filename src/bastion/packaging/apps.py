from django.apps import AppConfig


class PackagingConfig(AppConfig):
    name = "bastion.packaging"
    label = "packaging"

    def ready(self) -> None:
        from bastion.packaging import checks  # noqa: F401 - registers the object storage check
        from bastion.packaging.services import place_files_for_status
        from bastion.packaging.signals import project_changed

        project_changed.connect(place_files_for_status, dispatch_uid="bastion.packaging.files")
