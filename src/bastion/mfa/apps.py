from django.apps import AppConfig


class MfaConfig(AppConfig):
    name = "bastion.mfa"
    label = "mfa"
    verbose_name = "Two-factor authentication"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from bastion.mfa.reauth import mark_password_only_login

        user_logged_in.connect(mark_password_only_login, dispatch_uid="mfa.password_only_login")
