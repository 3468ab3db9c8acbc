"""Forms for the account pages. They check shape; the services in ``services.py`` decide."""

from django import forms
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.password_validation import password_validators_help_texts
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.html import format_html, format_html_join

from bastion.accounts.models import Email, User


def password_help_html() -> str:
    """The password rules in force, as a list; read per form so a rule that is off (the breach
    check without a source) is never promised. Django's own helper keeps empty items and is
    read once, at import."""
    rules = [text for text in password_validators_help_texts() if text]
    items = format_html_join("", "<li>{}</li>", ((rule,) for rule in rules))
    return format_html("<ul>{}</ul>", items) if rules else ""


def _password(label: str, autocomplete: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


class NewAccountForm(forms.Form):
    """The name and address of a new account, as the sign-up page and ``bastion users create``
    check them: one set of rules, whichever way an account is made."""

    username = forms.CharField(
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="Letters, digits and @ . + - _ only.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    email = forms.EmailField(
        label="Email address",
        help_text="We send a link to confirm it. You need a verified address to publish.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("This username is taken.")
        return username

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if Email.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("That email address is already in use.")
        return email


class RegistrationForm(NewAccountForm):
    """The sign-up page: a new account's name and address, and its password typed twice."""

    password1 = _password("Password", "new-password")
    password2 = _password("Password (again)", "new-password")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = password_help_html()

    def clean_password2(self) -> str:
        first, second = self.cleaned_data.get("password1"), self.cleaned_data["password2"]
        if first and first != second:
            raise forms.ValidationError("The two passwords differ.")
        return second


class InvitationForm(RegistrationForm):
    """Registration through an invitation: the address is the invited one, so it is not asked."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["email"]


class LoginForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = _password("Password", "current-password")


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        help_text="A verified address of your account.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class AddEmailForm(forms.Form):
    email = forms.EmailField(
        label="New email address", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class ChangePasswordForm(PasswordChangeForm):
    """Django's form (checks the old password, validates the new one), without autofocus:
    it sits below the email section, and focusing it would scroll the page away."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].widget.attrs.pop("autofocus", None)
        self.fields["new_password1"].help_text = password_help_html()


class ResetPasswordForm(SetPasswordForm):
    """Django's form for a new password after a reset, with the rules actually in force."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = password_help_html()
