"""The form for adding a trusted publisher; the kind's own rules check the fields (services)."""

from django import forms

from bastion.publishing.kinds import KINDS


class PublisherForm(forms.Form):
    kind = forms.ChoiceField(
        label="CI service", choices=[(kind.name, kind.label) for kind in KINDS.values()]
    )
    repository = forms.CharField(
        label="Repository",
        max_length=255,
        help_text="GitHub: OWNER/REPO. GitLab: NAMESPACE/PROJECT (with any subgroups).",
    )
    workflow = forms.CharField(
        label="Workflow",
        max_length=255,
        help_text="GitHub: the workflow file name in .github/workflows/, e.g. release.yml. "
        "GitLab: the CI config file path, e.g. .gitlab-ci.yml.",
    )
    environment = forms.CharField(
        label="Environment (optional)",
        max_length=255,
        required=False,
        help_text="Only jobs in this deployment environment may publish. Recommended: without "
        "it, any job of the workflow may.",
    )


class PendingPublisherForm(PublisherForm):
    project_name = forms.CharField(
        label="Project name",
        max_length=200,
        help_text="The project the first upload from this publisher will create, owned by you.",
    )
