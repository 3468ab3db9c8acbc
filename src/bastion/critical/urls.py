from django.urls import path

from bastion.critical import views

urlpatterns = [
    path("stats/", views.stats_page, name="stats"),
]
