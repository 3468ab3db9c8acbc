"""The token form: a name, a scope the user may choose, and an optional lifetime."""

from django import forms

from bastion.tokens.services import READ_ONLY_HAS_NO_PROJECT

USER_WIDE = ""


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Token name", max_length=100, help_text="What it is for, e.g. 'CI for mypkg'."
    )
    scope = forms.ChoiceField(label="Scope", required=False)
    read_only = forms.BooleanField(
        label="Read-only",
        required=False,
        help_text="Installs from this index (pip, uv, poetry, pdm) but never uploads: "
        "for CI and laptops. A read-only token reads every project, so leave the scope at all "
        "projects.",
    )
    expires_days = forms.IntegerField(
        label="Expires after (days)",
        required=False,
        min_value=1,
        max_value=3650,
        help_text="Leave empty for a token that does not expire.",
    )

    def __init__(self, *args, projects=(), **kwargs):
        """``projects``: the projects the user has a role on, offered as scopes."""
        super().__init__(*args, **kwargs)
        scope = self.fields["scope"]
        assert isinstance(scope, forms.ChoiceField)  # declared above
        scope.choices = [(USER_WIDE, "All projects (user-wide)")] + [
            (project.normalized_name, f"Only project {project.name}") for project in projects
        ]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("read_only") and cleaned.get("scope"):
            self.add_error("scope", READ_ONLY_HAS_NO_PROJECT)
        return cleaned
