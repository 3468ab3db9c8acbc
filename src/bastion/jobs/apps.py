from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "bastion.jobs"
    label = "jobs"
    verbose_name = "Background jobs"

    def ready(self) -> None:
        from bastion.jobs import after_response

        after_response.connect()
