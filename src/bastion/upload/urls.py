from django.urls import path

from bastion.upload import views

# Both spellings answer directly: twine, poetry, pdm and hatch treat a redirect as a failure.
urlpatterns = [
    path("legacy/", views.legacy_upload, name="legacy-upload"),
    path("legacy", views.legacy_upload, name="legacy-upload-no-slash"),
]
