from django.contrib import admin
from django.urls import include, path

from bastion.operations import views as operations_views
from bastion.web import views as web_views

urlpatterns = [
    path("healthz", web_views.healthz, name="healthz"),
    path("metrics", operations_views.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include("bastion.upload.urls")),
    path("", include("bastion.publishing.urls")),
    path("", include("bastion.simple.urls")),
    path("", include("bastion.downloads.urls")),
    path("", include("bastion.accounts.urls")),
    path("", include("bastion.mfa.urls")),
    path("", include("bastion.web.urls")),
    path("", include("bastion.packaging.urls")),
    path("", include("bastion.tokens.urls")),
    path("", include("bastion.events.urls")),
    path("", include("bastion.critical.urls")),
    path("", include("bastion.keys.urls")),
]
