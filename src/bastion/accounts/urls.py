from django.urls import path

from bastion.accounts import views

app_name = "accounts"

urlpatterns = [
    path("account/register/", views.register, name="register"),
    path("account/invitation/<str:secret>/", views.invitation, name="invitation"),
    path("account/login/", views.login, name="login"),
    path("account/logout/", views.logout, name="logout"),
    path("account/verify-email/<str:token>/", views.verify_email, name="verify-email"),
    path("account/reset-password/", views.reset_request, name="reset-request"),
    path(
        "account/reset-password/<uidb64>/<token>/",
        views.ResetConfirm.as_view(),
        name="reset-confirm",
    ),
    path("manage/account/", views.account, name="account"),
    path("manage/account/password/", views.change_password, name="change-password"),
    path("manage/account/emails/add/", views.add_email, name="add-email"),
    path("manage/account/emails/<int:email_id>/resend/", views.resend, name="resend-verification"),
    path("manage/account/emails/<int:email_id>/remove/", views.remove_email, name="remove-email"),
    path("manage/account/emails/<int:email_id>/primary/", views.make_primary, name="make-primary"),
]
