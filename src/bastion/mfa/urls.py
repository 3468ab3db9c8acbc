from django.urls import path

from bastion.mfa import views

app_name = "mfa"

urlpatterns = [
    path("account/two-factor/", views.two_factor, name="two-factor"),
    path(
        "account/two-factor/webauthn/options",
        views.two_factor_webauthn_options,
        name="two-factor-webauthn-options",
    ),
    path(
        "account/two-factor/webauthn/verify",
        views.two_factor_webauthn_verify,
        name="two-factor-webauthn-verify",
    ),
    path("account/passkey/options", views.passkey_options, name="passkey-options"),
    path("account/passkey/verify", views.passkey_verify, name="passkey-verify"),
    path("account/reauthenticate/", views.reauthenticate, name="reauthenticate"),
    path(
        "account/reauthenticate/webauthn/options",
        views.reauth_webauthn_options,
        name="reauth-webauthn-options",
    ),
    path(
        "account/reauthenticate/webauthn/verify",
        views.reauth_webauthn_verify,
        name="reauth-webauthn-verify",
    ),
    path("account/recovery/", views.recovery_request, name="recovery-request"),
    path("manage/account/two-factor/", views.manage, name="manage"),
    path("manage/account/two-factor/totp/", views.totp_provision, name="totp-provision"),
    path("manage/account/two-factor/totp/remove", views.totp_remove, name="totp-remove"),
    path("manage/account/two-factor/webauthn/", views.webauthn_add, name="webauthn-add"),
    path(
        "manage/account/two-factor/webauthn/options",
        views.webauthn_add_options,
        name="webauthn-add-options",
    ),
    path(
        "manage/account/two-factor/webauthn/verify",
        views.webauthn_add_verify,
        name="webauthn-add-verify",
    ),
    path(
        "manage/account/two-factor/webauthn/<int:pk>/remove",
        views.webauthn_remove,
        name="webauthn-remove",
    ),
    path(
        "manage/account/two-factor/recovery-codes/",
        views.show_recovery_codes,
        name="recovery-codes",
    ),
]
