"""Two-factor pages: parse, call :mod:`bastion.mfa.services`, answer.

WebAuthn ceremonies are two JSON round trips driven by ``static/mfa/webauthn.js``: an options
endpoint keeps the challenge in the session and returns what ``navigator.credentials`` needs;
a verify endpoint checks the browser's answer against that challenge (used once) and replies
``{"redirect": url}`` or ``{"error": message}``.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bastion import authz
from bastion.accounts.http import SignedInRequest
from bastion.accounts.ratelimit import RateLimited
from bastion.accounts.views import rate_limited_response
from bastion.authz import factors
from bastion.events.services import Origin
from bastion.mfa import login, reauth, recovery, recovery_codes, services, totp
from bastion.mfa.forms import (
    CodeForm,
    KeyLabelForm,
    ReauthenticateForm,
    RecoveryCodeForm,
    RecoveryRequestForm,
    SignInCodeForm,
)
from bastion.mfa.models import TOTPDevice, WebAuthnCredential

_CHALLENGE = "mfa.challenge.{}"
_PENDING_TOTP = "mfa.totp_secret"
_NEW_CODES = "mfa.new_recovery_codes"


# ---------------------------------------------------------------------------------------------
# Helpers


def _keep_challenge(request: HttpRequest, purpose: str, challenge: bytes) -> None:
    from webauthn.helpers import bytes_to_base64url  # on first use: see mfa.services._ceremonies

    request.session[_CHALLENGE.format(purpose)] = bytes_to_base64url(challenge)


def _take_challenge(request: HttpRequest, purpose: str) -> bytes | None:
    from webauthn.helpers import base64url_to_bytes

    stored = request.session.pop(_CHALLENGE.format(purpose), None)
    return base64url_to_bytes(stored) if stored else None


def _options(options_json: str) -> HttpResponse:
    return HttpResponse(options_json, content_type="application/json")


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _limited(limited: RateLimited) -> JsonResponse:
    response = _error(limited.message, status=429)
    response["Retry-After"] = str(limited.retry_after)
    return response


def _payload(request: HttpRequest) -> tuple[dict | None, dict]:
    """The credential the browser produced, and the form fields sent along with it."""
    try:
        body = json.loads(request.body)
    except ValueError:
        return None, {}
    if not isinstance(body, dict) or not isinstance(body.get("credential"), dict):
        return None, {}
    fields = body.get("fields")
    return body["credential"], fields if isinstance(fields, dict) else {}


def _truthy(value) -> bool:
    return value in (True, "on", "true", "1")


def _show_new_codes(request: HttpRequest, codes: list[str] | None, default: str) -> str:
    """Where to go after a factor was added: the codes page when codes were just made."""
    if codes:
        request.session[_NEW_CODES] = codes
        return reverse("mfa:recovery-codes")
    return default


# ---------------------------------------------------------------------------------------------
# Sign-in: the second step, and passkeys


@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """The step after the password: every method the user has, on one page."""
    user = login.pending_user(request)
    if user is None:
        messages.info(request, "Your sign-in expired. Enter your password again.")
        return redirect("accounts:login")
    origin = Origin.from_request(request)
    methods = services.two_factor_methods(user)
    code_form = SignInCodeForm(request.POST if "code" in request.POST else None)
    recovery_form = RecoveryCodeForm(  # ids of its own: the code form has a "remember" too
        request.POST if "recovery_code" in request.POST else None, auto_id="id_recovery_%s"
    )
    try:
        if code_form.is_bound and code_form.is_valid():
            services.verify_totp(user, code_form.cleaned_data["code"], origin=origin)
            return login.finish(
                request, user, method="totp", remember=code_form.cleaned_data["remember"]
            )
        if recovery_form.is_bound and recovery_form.is_valid():
            left = services.use_recovery_code(
                user, recovery_form.cleaned_data["recovery_code"], origin=origin
            )
            messages.warning(
                request,
                f"Recovery code accepted; it cannot be used again. {left} left. "
                "If your device is lost, add a new factor and regenerate your codes.",
            )
            return login.finish(
                request,
                user,
                method=services.RECOVERY_CODE,
                remember=recovery_form.cleaned_data["remember"],
            )
    except RateLimited as limited:
        return rate_limited_response(request, limited)
    except services.FactorError as error:
        (code_form if code_form.is_bound else recovery_form).add_error(None, error.message)
    context = {
        "has_totp": services.TOTP in methods,
        "has_keys": bool(methods & {services.WEBAUTHN, services.PASSKEY}),
        "code_form": code_form,
        "recovery_form": recovery_form,
    }
    return render(request, "mfa/two_factor.html", context, status=400 if request.POST else 200)


@require_POST
def two_factor_webauthn_options(request: HttpRequest) -> HttpResponse:
    user = login.pending_user(request)
    if user is None:
        return _error("Your sign-in expired. Enter your password again.", status=403)
    options, challenge = services.webauthn_authentication_options(user)
    _keep_challenge(request, "login", challenge)
    return _options(options)


@require_POST
def two_factor_webauthn_verify(request: HttpRequest) -> HttpResponse:
    user = login.pending_user(request)
    challenge = _take_challenge(request, "login")
    credential, fields = _payload(request)
    if user is None or challenge is None or credential is None:
        return _error("Your sign-in expired. Enter your password again.", status=403)
    try:
        key = services.verify_webauthn(
            credential, challenge, user=user, origin=Origin.from_request(request)
        )
    except RateLimited as limited:
        return _limited(limited)
    except services.FactorError as error:
        return _error(error.message)
    response = login.finish(
        request, user, method=key.method, label=key.label, remember=_truthy(fields.get("remember"))
    )
    return _redirect_json(response)


def _redirect_json(response: HttpResponseRedirect) -> JsonResponse:
    """Hand a redirect (and its cookies) to the script, which navigates itself."""
    answer = JsonResponse({"redirect": response.url})
    answer.cookies = response.cookies
    return answer


@require_POST
def passkey_options(request: HttpRequest) -> HttpResponse:
    options, challenge = services.webauthn_authentication_options(None)
    _keep_challenge(request, "passkey", challenge)
    return _options(options)


@require_POST
def passkey_verify(request: HttpRequest) -> HttpResponse:
    """Sign in with a passkey alone: it proves possession and (verified) the person."""
    challenge = _take_challenge(request, "passkey")
    credential, fields = _payload(request)
    if challenge is None or credential is None:
        return _error("The passkey request expired. Try again.", status=403)
    try:
        key = services.verify_webauthn(
            credential, challenge, user=None, origin=Origin.from_request(request)
        )
    except RateLimited as limited:
        return _limited(limited)
    except services.FactorError as error:
        return _error(error.message)
    if not key.user.is_active:
        return _error(f"The account '{key.user.username}' is disabled.", status=403)
    response = login.finish(
        request, key.user, method="passkey", label=key.label, next_url=fields.get("next")
    )
    return _redirect_json(response)


# ---------------------------------------------------------------------------------------------
# Re-authentication (sudo mode)


@login_required
@require_http_methods(["GET", "POST"])
def reauthenticate(request: SignedInRequest) -> HttpResponse:
    user = request.user
    next_url = login.safe_next(
        request, request.POST.get("next") or request.GET.get("next"), reverse("mfa:manage")
    )
    methods = services.two_factor_methods(user)
    form = ReauthenticateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _reauth_password(request, form.cleaned_data["password"])
            if services.TOTP in methods:
                services.verify_totp(user, form.cleaned_data["code"], origin=_origin(request))
            elif methods:
                raise services.FactorError("Confirm with your security key or passkey.")
        except RateLimited as limited:
            return rate_limited_response(request, limited)
        except services.FactorError as error:
            form.add_error(None, error.message)
        else:
            reauth.mark_recent_auth(request, services.TOTP if methods else "password")
            return HttpResponseRedirect(next_url)
    context = {
        "form": form,
        "next": next_url,
        "has_totp": services.TOTP in methods,
        "has_keys": bool(methods & {services.WEBAUTHN, services.PASSKEY}),
    }
    return render(request, "mfa/reauthenticate.html", context, status=400 if form.errors else 200)


def _origin(request: HttpRequest) -> Origin:
    return Origin.from_request(request)


def _reauth_password(request: SignedInRequest, password: str) -> None:
    """Check the password of the signed-in user, within the same limits as a second factor."""
    services.check_limits(request.user, _origin(request))
    if authenticate(request, username=request.user.username, password=password) is None:
        raise services.count_failure(
            request.user,
            _origin(request),
            "invalid_password",
            "That password is not correct.",
        )


@login_required
@require_POST
def reauth_webauthn_options(request: SignedInRequest) -> HttpResponse:
    options, challenge = services.webauthn_authentication_options(request.user)
    _keep_challenge(request, "reauth", challenge)
    return _options(options)


@login_required
@require_POST
def reauth_webauthn_verify(request: SignedInRequest) -> HttpResponse:
    challenge = _take_challenge(request, "reauth")
    credential, fields = _payload(request)
    if challenge is None or credential is None:
        return _error("The confirmation expired. Try again.", status=403)
    try:
        _reauth_password(request, str(fields.get("password", "")))
        key = services.verify_webauthn(
            credential, challenge, user=request.user, origin=_origin(request)
        )
    except RateLimited as limited:
        return _limited(limited)
    except services.FactorError as error:
        return _error(error.message)
    reauth.mark_recent_auth(request, key.method)
    return JsonResponse(
        {"redirect": login.safe_next(request, fields.get("next"), reverse("mfa:manage"))}
    )


# ---------------------------------------------------------------------------------------------
# Managing factors


@login_required
@require_GET
def manage(request: SignedInRequest) -> HttpResponse:
    user = request.user
    context = {
        "totp_device": TOTPDevice.objects.filter(user=user).first(),
        "credentials": WebAuthnCredential.objects.filter(user=user),
        "codes_left": services.unused_recovery_codes(user),
        "has_two_factor": services.has_two_factor(user),
        "required_by": authz.projects_requiring_two_factor(user),
    }
    return render(request, "mfa/manage.html", context)


@reauth.require_recent_auth
@require_http_methods(["GET", "POST"])
def totp_provision(request: SignedInRequest) -> HttpResponse:
    """Show a new secret (QR code and text) and store it once a code from it checks out."""
    secret = request.session.get(_PENDING_TOTP)
    if request.method == "GET" or not secret:
        secret = totp.new_secret()
        request.session[_PENDING_TOTP] = secret
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            codes = services.confirm_totp(
                request.user, secret=secret, code=form.cleaned_data["code"], origin=_origin(request)
            )
        except services.FactorError as error:
            form.add_error("code", error.message)
        else:
            del request.session[_PENDING_TOTP]
            messages.success(request, "Your authenticator app is set up.")
            return redirect(_show_new_codes(request, codes, reverse("mfa:manage")))
    uri = totp.provisioning_uri(secret, request.user.username)
    context = {
        "form": form,
        "qr_svg": totp.qr_code_svg(uri),
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        "secret": secret,
    }
    return render(request, "mfa/totp_provision.html", context, status=400 if form.errors else 200)


@reauth.require_recent_auth
@require_POST
def totp_remove(request: SignedInRequest) -> HttpResponse:
    try:
        factors.remove_totp(request.user, origin=_origin(request))
    except services.FactorError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Your authenticator app was removed.")
    return redirect("mfa:manage")


@reauth.require_recent_auth
@require_GET
def webauthn_add(request: HttpRequest) -> HttpResponse:
    passkey = request.GET.get("kind") == "passkey"
    return render(request, "mfa/webauthn_add.html", {"form": KeyLabelForm(), "passkey": passkey})


@reauth.require_recent_auth
@require_POST
def webauthn_add_options(request: SignedInRequest) -> HttpResponse:
    passkey = request.POST.get("kind") == "passkey"
    options, challenge = services.webauthn_registration_options(request.user, passkey=passkey)
    _keep_challenge(request, "register-passkey" if passkey else "register", challenge)
    return _options(options)


@reauth.require_recent_auth
@require_POST
def webauthn_add_verify(request: SignedInRequest) -> HttpResponse:
    credential, fields = _payload(request)
    passkey = fields.get("kind") == "passkey"
    challenge = _take_challenge(request, "register-passkey" if passkey else "register")
    if challenge is None or credential is None:
        return _error("The registration expired. Try again.", status=403)
    try:
        codes = services.add_webauthn(
            request.user,
            credential=credential,
            challenge=challenge,
            label=str(fields.get("label", "")),
            passkey=passkey,
            origin=_origin(request),
        )
    except services.FactorError as error:
        return _error(error.message)
    kind = "passkey" if passkey else "security key"
    messages.success(request, f"Your {kind} '{fields.get('label', '').strip()}' is registered.")
    return JsonResponse({"redirect": _show_new_codes(request, codes, reverse("mfa:manage"))})


@reauth.require_recent_auth
@require_POST
def webauthn_remove(request: SignedInRequest, pk: int) -> HttpResponse:
    try:
        factors.remove_webauthn(request.user, credential_pk=pk, origin=_origin(request))
    except services.FactorError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "The key was removed.")
    return redirect("mfa:manage")


@login_required
@require_http_methods(["GET", "POST"])
def show_recovery_codes(request: HttpRequest) -> HttpResponse:
    """GET shows codes made a moment ago, once; POST (re-authenticated) makes a new set."""
    if request.method == "POST":
        return _regenerate_codes(request)
    codes = request.session.pop(_NEW_CODES, None)
    if not codes:
        return redirect("mfa:manage")
    shown = [recovery_codes.display(code) for code in codes]
    return render(request, "mfa/recovery_codes.html", {"codes": shown})


@reauth.require_recent_auth
def _regenerate_codes(request: SignedInRequest) -> HttpResponse:
    try:
        codes = services.regenerate_recovery_codes(request.user, origin=_origin(request))
    except services.FactorError as error:
        messages.error(request, error.message)
        return redirect("mfa:manage")
    return redirect(_show_new_codes(request, codes, reverse("mfa:manage")))


# ---------------------------------------------------------------------------------------------
# Account recovery


@require_http_methods(["GET", "POST"])
def recovery_request(request: HttpRequest) -> HttpResponse:
    form = RecoveryRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            recovery.file_request(
                identifier=form.cleaned_data["identifier"],
                details=form.cleaned_data["details"],
                origin=_origin(request),
            )
        except RateLimited as limited:
            return rate_limited_response(request, limited)
        return render(request, "mfa/recovery_request_sent.html")
    return render(request, "mfa/recovery_request.html", {"form": form})
