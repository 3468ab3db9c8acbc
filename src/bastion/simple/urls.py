from django.urls import re_path

from bastion.simple import views

# /simple/ and /files/ never reach Django: bastion.simple.readpath answers them in front of it.
urlpatterns = [
    re_path(r"^pypi/(?P<name>[^/]+)/json/?$", views.project_json, name="pypi-json"),
    re_path(
        r"^pypi/(?P<name>[^/]+)/(?P<version>[^/]+)/json/?$",
        views.project_json,
        name="pypi-release-json",
    ),
]
