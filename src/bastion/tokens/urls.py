from django.urls import path

from bastion.tokens import views

urlpatterns = [
    path("manage/account/tokens/", views.tokens, name="tokens"),
    path("manage/account/tokens/<int:token_id>/revoke/", views.revoke, name="revoke_token"),
]
