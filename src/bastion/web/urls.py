from django.urls import path

from bastion.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("help/", views.help_page, name="help"),
    path("user/<str:username>/", views.user_profile, name="user"),
]
