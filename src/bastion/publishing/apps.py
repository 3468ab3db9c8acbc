from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "bastion.publishing"
    label = "publishing"
    verbose_name = "Trusted publishing"

    def ready(self) -> None:
        # An issuer of an unknown kind in BASTION_OIDC_ISSUERS stops start-up, not the first
        # CI job that tries to publish.
        from bastion.publishing import issuers

        issuers.configured()
