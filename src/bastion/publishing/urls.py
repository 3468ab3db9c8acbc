from django.urls import path

from bastion.publishing import views

urlpatterns = [
    path("_/oidc/audience", views.oidc_audience, name="oidc_audience"),
    path("_/oidc/mint-token", views.mint_token, name="oidc_mint_token"),
    # The legacy alias old releases of pypa/gh-action-pypi-publish call; same view.
    path("_/oidc/github/mint-token", views.mint_token),
    path(
        "manage/project/<str:name>/publishing/",
        views.project_publishers,
        name="project_publishers",
    ),
    path(
        "manage/project/<str:name>/publishing/<int:publisher_id>/remove/",
        views.remove_project_publisher,
        name="remove_project_publisher",
    ),
    # PEP 740's provenance of a file, at PyPI's path; the simple pages link it (absolute).
    path(
        "integrity/<str:project>/<str:version>/<str:filename>/provenance",
        views.provenance,
        name="provenance",
    ),
    path("manage/account/publishing/", views.pending_publishers, name="pending_publishers"),
    path(
        "manage/account/publishing/<int:publisher_id>/remove/",
        views.remove_pending_publisher,
        name="remove_pending_publisher",
    ),
]
