from django.contrib import admin
from django.urls import include, path

from bastion.web import views as web_views

urlpatterns = [
    path("healthz", web_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("bastion.upload.urls")),
    path("", include("bastion.simple.urls")),
    path("", include("bastion.downloads.urls")),
    path("", include("bastion.accounts.urls")),
]
