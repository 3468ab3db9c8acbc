"""Forms of the two-factor pages. Every field has a label; nothing here checks a factor."""

from django import forms


class CodeForm(forms.Form):
    """A six-digit code from an authenticator app."""

    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class SignInCodeForm(CodeForm):
    remember = forms.BooleanField(label="Remember this device for 30 days", required=False)


class RecoveryCodeForm(forms.Form):
    recovery_code = forms.CharField(
        label="Recovery code",
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    remember = forms.BooleanField(label="Remember this device for 30 days", required=False)


class ReauthenticateForm(forms.Form):
    password = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=16,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class KeyLabelForm(forms.Form):
    label = forms.CharField(
        label="Name of this key",
        max_length=64,
        help_text='So you can tell your keys apart, e.g. "YubiKey on my keyring".',
    )


class RecoveryRequestForm(forms.Form):
    identifier = forms.CharField(label="Username or email address", max_length=254)
    details = forms.CharField(
        label="What happened, and how can we verify it is you?",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="For example: projects you maintain, a repository you control, "
        "and when you last signed in. Never include a password.",
    )


class ResolveRecoveryForm(forms.Form):
    reason = forms.CharField(
        label="How you verified the person (or why you decline)",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
