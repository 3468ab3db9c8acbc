"""Account pages: parse the form, call a service, answer. The rules live in ``services.py``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN, PasswordResetConfirmView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from bastion.accounts import invitations, services
from bastion.accounts.forms import (
    AddEmailForm,
    ChangePasswordForm,
    InvitationForm,
    LoginForm,
    PasswordResetRequestForm,
    RegistrationForm,
    ResetPasswordForm,
)
from bastion.accounts.http import SignedInRequest
from bastion.accounts.invitations import NOT_USABLE
from bastion.accounts.ratelimit import RateLimited
from bastion.critical import enforcement
from bastion.events.services import Origin
from bastion.mfa.login import second_factor_step
from bastion.mfa.services import has_two_factor

RESET_NEUTRAL_MESSAGE = (
    "If that address is a verified address of an account, we have sent it a link to reset the "
    "password. The link works for six hours. Unverified addresses never receive reset links."
)


def rate_limited_response(request: HttpRequest, limited: RateLimited) -> HttpResponse:
    """429 with a page that says what happened and when to try again."""
    response = render(
        request, "accounts/rate_limited.html", {"message": limited.message}, status=429
    )
    response["Retry-After"] = str(limited.retry_after)
    return response


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("accounts:account")


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:account")
    mode = invitations.registration_mode()
    if mode != invitations.OPEN:
        context = {"by_invitation": mode == invitations.INVITE}
        return render(request, "accounts/register_closed.html", context, status=403)
    form = RegistrationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.register(
                request,
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as error:
            form.add_error("password1", error)
        except services.AccountError as error:
            form.add_error(None, str(error))
        except RateLimited as limited:
            return rate_limited_response(request, limited)
        else:
            messages.success(
                request,
                f"Welcome, {form.cleaned_data['username']}! You are signed in. We sent a link to "
                f"{form.cleaned_data['email']}: open it in this browser to verify the address. "
                "You need a verified address to publish.",
            )
            return redirect("accounts:account")
    return render(request, "accounts/register.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, secret: str) -> HttpResponse:
    """The invited address registers its account here, once; it is verified by the link itself."""
    pending = invitations.pending(secret)
    if pending is None:
        return render(request, "accounts/invitation.html", {"unusable": NOT_USABLE}, status=404)
    form = InvitationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            invitations.accept(
                request,
                secret=secret,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as error:
            form.add_error("password1", error)
        except services.AccountError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Welcome! Your account for {pending.email} is ready.")
            return redirect("accounts:account")
    context = {"form": form, "email": pending.email}
    return render(request, "accounts/invitation.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.authenticate_password(
                request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except RateLimited as limited:
            return rate_limited_response(request, limited)
        except services.LoginRefused as refused:
            form.add_error(None, str(refused))
        else:
            second_step = second_factor_step(request, user, _next_url(request))
            if second_step is not None:
                return second_step
            services.complete_login(request, user)
            return HttpResponseRedirect(_next_url(request))
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    services.log_out(request)
    messages.success(request, "You are logged out.")
    return redirect("/")


@login_required
def verify_email(request: SignedInRequest, token: str) -> HttpResponse:
    try:
        email = services.verify_email(
            user=request.user, token=token, origin=Origin.from_request(request)
        )
    except services.AccountError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{email.email} is verified.")
    return redirect("accounts:account")


@require_http_methods(["GET", "POST"])
def reset_request(request: HttpRequest) -> HttpResponse:
    form = PasswordResetRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_password_reset(
                address=form.cleaned_data["email"], origin=Origin.from_request(request)
            )
        except RateLimited as limited:
            return rate_limited_response(request, limited)
        return render(request, "accounts/reset_request.html", {"sent": RESET_NEUTRAL_MESSAGE})
    return render(request, "accounts/reset_request.html", {"form": form})


class ResetConfirm(PasswordResetConfirmView):
    """Django's reset view (the token moves from the URL into the session), with our service."""

    token_generator = services.reset_tokens
    form_class = ResetPasswordForm
    template_name = "accounts/reset_confirm.html"
    post_reset_login = False
    success_url = reverse_lazy("accounts:login")

    def form_valid(self, form):
        services.reset_password(
            form.user,
            form.cleaned_data["new_password1"],
            origin=Origin.from_request(self.request),
        )
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        messages.success(self.request, "Your password is reset. Log in with the new password.")
        return HttpResponseRedirect(self.success_url)


def _critical_deadlines(user) -> list[dict]:
    """The critical projects the user maintains without a second factor, with their dates."""
    return [
        {
            "name": name,
            "date": designation.enforcement_date,
            "enforced": enforcement.is_enforced(designation),
        }
        for name, designation in enforcement.unprotected_designations(user)
    ]


def _account_page(request: SignedInRequest, *, status: int = 200, **forms) -> HttpResponse:
    """The account page; without a second factor it leads with the call to add one."""
    context = {
        "has_two_factor": has_two_factor(request.user),
        "critical_deadlines": _critical_deadlines(request.user),
        "emails": request.user.emails.order_by("-primary", "created"),
        "add_form": forms.get("add_form") or AddEmailForm(),
        "password_form": forms.get("password_form") or ChangePasswordForm(request.user),
    }
    return render(request, "accounts/account.html", context, status=status)


@login_required
def account(request: SignedInRequest) -> HttpResponse:
    return _account_page(request)


@login_required
@require_POST
def change_password(request: SignedInRequest) -> HttpResponse:
    try:  # the current password counts as a sign-in's would: limited, and failures recorded
        services.authenticate_password(
            request, username=request.user.username, password=request.POST.get("old_password", "")
        )
    except RateLimited as limited:
        return rate_limited_response(request, limited)
    except services.LoginRefused:
        pass  # the form says why, beside the field
    form = ChangePasswordForm(request.user, request.POST)
    if not form.is_valid():
        return _account_page(request, password_form=form, status=400)
    services.change_password(request, request.user, form.cleaned_data["new_password1"])
    messages.success(request, "Your password is changed. Your other sessions are logged out.")
    return redirect("accounts:account")


@login_required
@require_POST
def add_email(request: SignedInRequest) -> HttpResponse:
    form = AddEmailForm(request.POST)
    if form.is_valid():
        try:
            email = services.add_email(
                user=request.user,
                address=form.cleaned_data["email"],
                origin=Origin.from_request(request),
            )
        except RateLimited as limited:
            return rate_limited_response(request, limited)
        except services.AccountError as error:
            form.add_error("email", str(error))
        else:
            messages.success(request, f"We sent a verification link to {email.email}.")
            return redirect("accounts:account")
    return _account_page(request, add_form=form, status=400)


def _email_action(request: HttpRequest, action, email_id: int, success: str) -> HttpResponse:
    try:
        result = action(user=request.user, email_id=email_id, origin=Origin.from_request(request))
    except RateLimited as limited:
        return rate_limited_response(request, limited)
    except services.AccountError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, success.format(address=str(result)))
    return redirect("accounts:account")


@login_required
@require_POST
def resend(request: HttpRequest, email_id: int) -> HttpResponse:
    return _email_action(
        request,
        services.resend_verification,
        email_id,
        "We sent a new verification link to {address}.",
    )


@login_required
@require_POST
def remove_email(request: HttpRequest, email_id: int) -> HttpResponse:
    return _email_action(request, services.remove_email, email_id, "{address} is removed.")


@login_required
@require_POST
def make_primary(request: HttpRequest, email_id: int) -> HttpResponse:
    return _email_action(
        request, services.set_primary_email, email_id, "{address} is now your primary address."
    )
