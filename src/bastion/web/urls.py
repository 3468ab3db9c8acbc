from django.urls import path

from bastion.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("user/<str:username>/", views.user_profile, name="user"),
]
