"""Forms of the project pages. Each field has a label; errors render beside their field."""

from django import forms

from bastion.packaging.models import RoleName


class SearchForm(forms.Form):
    q = forms.CharField(label="Search projects", max_length=200, required=False)


class InviteForm(forms.Form):
    username = forms.CharField(label="Username", max_length=150)
    role_name = forms.ChoiceField(
        label="Role", choices=RoleName.choices, initial=RoleName.MAINTAINER
    )


class YankForm(forms.Form):
    reason = forms.CharField(
        label="Reason for yanking",
        max_length=1000,
        required=False,
        help_text="Shown to installers, e.g. 'Broken on Windows, use 1.2.1'.",
    )


class DeleteReleaseForm(forms.Form):
    """Deleting cannot be undone, so the owner types the version to prove they mean it."""

    confirm = forms.CharField(label="Type the version to confirm", max_length=255)
    reason = forms.CharField(
        label="Reason for deleting",
        max_length=1000,
        help_text="Kept in the project's history. Filenames stay reserved forever.",
    )


class DeleteProjectForm(forms.Form):
    """Deleting a whole project cannot be undone, so the owner types its name."""

    confirm = forms.CharField(label="Type the project name to confirm", max_length=255)
    reason = forms.CharField(
        label="Reason for deleting",
        max_length=1000,
        help_text="Kept in the index's history. Every filename stays reserved forever.",
    )


class DeleteFileForm(forms.Form):
    filename = forms.CharField(widget=forms.HiddenInput)
    confirm = forms.CharField(label="Type the filename to confirm", max_length=255)
    reason = forms.CharField(
        label="Reason for deleting",
        max_length=1000,
        help_text="Kept in the project's history. The filename can never be uploaded again.",
    )


class SettingsForm(forms.Form):
    requires_two_factor = forms.BooleanField(
        label="Require 2FA for every maintainer",
        required=False,
        help_text="Every Owner and Maintainer here must use two-factor authentication.",
    )
