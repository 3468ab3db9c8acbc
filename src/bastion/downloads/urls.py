from django.urls import path

from bastion.downloads import views

app_name = "downloads"

urlpatterns = [
    path("stats/project/<str:name>.json", views.project_stats, name="project-stats"),
]
