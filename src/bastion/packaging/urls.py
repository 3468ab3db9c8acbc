from django.urls import path

from bastion.packaging import views

urlpatterns = [
    path("project/<str:name>/", views.project_page, name="project"),
    path("project/<str:name>/<str:version>/", views.project_page, name="project_version"),
    path("manage/projects/", views.my_projects, name="my_projects"),
    path(
        "manage/invitations/<int:invitation_id>/accept/",
        views.answer_invitation,
        {"answer": "accept"},
        name="accept_invitation",
    ),
    path(
        "manage/invitations/<int:invitation_id>/decline/",
        views.answer_invitation,
        {"answer": "decline"},
        name="decline_invitation",
    ),
    path("manage/project/<str:name>/", views.manage_project, name="manage_project"),
    path(
        "manage/project/<str:name>/release/<str:version>/",
        views.manage_release,
        name="manage_release",
    ),
    path(
        "manage/project/<str:name>/release/<str:version>/yank/",
        views.yank_release,
        name="yank_release",
    ),
    path(
        "manage/project/<str:name>/release/<str:version>/unyank/",
        views.unyank_release,
        name="unyank_release",
    ),
    path(
        "manage/project/<str:name>/release/<str:version>/delete/",
        views.delete_release,
        name="delete_release",
    ),
    path(
        "manage/project/<str:name>/release/<str:version>/delete-file/",
        views.delete_file,
        name="delete_file",
    ),
    path("manage/project/<str:name>/delete/", views.delete_project, name="delete_project"),
    path("manage/project/<str:name>/roles/", views.manage_roles, name="manage_roles"),
    path(
        "manage/project/<str:name>/roles/<int:role_id>/remove/",
        views.remove_role,
        name="remove_role",
    ),
    path(
        "manage/project/<str:name>/roles/<int:role_id>/change/",
        views.change_role,
        name="change_role",
    ),
    path(
        "manage/project/<str:name>/invitations/<int:invitation_id>/revoke/",
        views.revoke_invitation,
        name="revoke_invitation",
    ),
    path("manage/project/<str:name>/settings/", views.project_settings, name="project_settings"),
]
