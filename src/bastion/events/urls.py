from django.urls import path

from bastion.events import views

urlpatterns = [
    path("manage/account/security/", views.account_history, name="account_history"),
    path("manage/project/<str:name>/history/", views.project_history, name="project_history"),
]
