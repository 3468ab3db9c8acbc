"""Security events as people read them: a sentence, then details in words, never internal codes.

The history pages show :func:`describe`'s sentence; the raw tag and fields stay in the database
and in the admin, for the operators who need them. Each kind of event that services record
(``events.record("…")``) has an entry here; a test checks that none is missing.
"""

from collections.abc import Callable
from dataclasses import dataclass

#: How a sign-in was completed (``account:login:success``'s ``method``).
SIGN_IN_METHODS = {
    "password": "a password",
    "registration": "a new account",
    "totp": "an authenticator app",
    "webauthn": "a security key",
    "passkey": "a passkey",
    "recovery-code": "a recovery code",
    "remembered-device": "a remembered device",
}

#: Why a sign-in or confirmation failed (``account:login:failure``'s ``reason``).
FAILURE_REASONS = {
    "invalid_password": "Wrong password",
    "invalid_totp": "Wrong authenticator app code",
    "out_of_sync_totp": "Authenticator app code from the wrong time (check the device's clock)",
    "replayed_totp": "Authenticator app code used twice",
    "invalid_recovery_code": "Wrong recovery code",
    "burned_recovery_code": "Recovery code that was already used",
    "invalid_webauthn": "Security key not accepted",
    "cloned_webauthn": "Security key refused: it may have been copied",
}

#: Kinds of second factor (``method`` of the two-factor events).
FACTOR_KINDS = {
    "totp": "an authenticator app",
    "webauthn": "a security key",
    "passkey": "a passkey",
    "recovery-code": "recovery codes",
}

#: Labels of the detail fields events carry.
DETAIL_LABELS = {
    "email": "Address",
    "token": "Token",
    "scope": "Scope",
    "version": "Version",
    "filename": "File",
    "filenames": "Files",
    "reason": "Reason",
    "invitee": "Invited",
    "username": "User",
    "role": "Role",
    "previous_role": "Previous role",
    "label": "Name",
    "left": "Recovery codes left",
    "vendor": "Vendor",
    "country": "Country",
    "batch": "Batch",
    "notified": "Told by mail",
    "enforcement_date": "Enforcement date",
    "name": "Name",
    "renamed_from": "Previous name",
    "project_name": "Project",
    "releases": "Releases",
    "object": "What",
    "fields": "Fields changed",
    "changes": "Changes",
    "request": "Recovery request",
    "admin": "Administrator",
    "stored_sign_count": "Signature counter on record",
    "reported_sign_count": "Signature counter the key reported",
    "claims": "CI run",
    "expires": "Expires",
    "by": "By",
}

#: Detail values that are codes, in words.
DETAIL_VALUES = {
    ("scope", "user"): "all projects",
    ("country", "any"): "any country",
}


@dataclass(frozen=True)
class Described:
    sentence: str
    details: list[tuple[str, str]]


def _sign_in(additional: dict) -> str:
    method, _, label = str(additional.get("method", "password")).partition(":")
    how = SIGN_IN_METHODS.get(method)
    if method == "registration":
        return "Signed in after creating the account"
    if how is None:
        return "Signed in"
    return f"Signed in with {how}" + (f" ({label})" if label else "")


def _failure(additional: dict) -> str:
    reason = additional.get("reason", "")
    return FAILURE_REASONS.get(reason, "Failed sign-in")


def _factor(verb: str) -> Callable[[dict], str]:
    def sentence(additional: dict) -> str:
        kind = FACTOR_KINDS.get(additional.get("method", ""), "a second factor")
        label = additional.get("label")
        return f"{verb} {kind}" + (f" ({label})" if label else "")

    return sentence


def _by_publisher(sentence: str) -> Callable[[dict], str]:
    """The sentence, naming the trusted publisher when one did it."""

    def said(additional: dict) -> str:
        publisher = additional.get("publisher")
        return f"{sentence} by the trusted publisher {publisher}" if publisher else sentence

    return said


def _about_publisher(template: str) -> Callable[[dict], str]:
    """The template with the trusted publisher's name in its ``{}``."""
    return lambda additional: template.format(additional.get("publisher", ""))


def _publisher_added(additional: dict) -> str:
    added = f"Trusted publisher added: {additional.get('publisher', '')}"
    if additional.get("reified_from_pending"):
        return f"{added} (it created the project)"
    return added


#: Each tag: its sentence (or a function of the details), and the details the sentence uses up.
SENTENCES: dict[str, tuple[str | Callable[[dict], str], frozenset[str]]] = {}


def _add(tag: str, sentence: str | Callable[[dict], str], *consumed: str) -> None:
    SENTENCES[tag] = (sentence, frozenset(consumed))


_add("account:create", "Account created")
_add("account:invite", "Invitation to register sent")
_add("account:login:success", _sign_in, "method")
_add("account:login:failure", _failure, "reason")
_add("account:logout", "Signed out")
_add("account:email:add", "Email address added")
_add("account:email:remove", "Email address removed")
_add("account:email:verified", "Email address verified")
_add("account:email:primary:change", "Primary email address changed")
_add(
    "account:email:unverified-expired-domain",
    "Email address no longer verified: its domain expired or changed hands",
)
_add("account:password:change", "Password changed")
_add("account:password:reset", "Password reset")
_add("account:password:reset:request", "Password reset link sent")
_add(
    "account:password:reset:attempt",
    "Password reset asked for an unverified address: no link was sent",
    "reason",
)
_add(
    "account:password:disabled",
    "Password stopped working: it appeared in a data breach",
    "reason",
)
_add("account:two_factor:method_added", _factor("Added"), "method", "label")
_add("account:two_factor:method_removed", _factor("Removed"), "method", "label")
_add("account:two_factor:device_remembered", "This browser was remembered for two-factor sign-in")
_add(
    "account:two_factor:clone_suspected",
    "Security key flagged: it may have been copied",
)
_add("account:recovery_codes:generated", "Recovery codes created")
_add("account:recovery_codes:regenerated", "Recovery codes replaced; the old ones stopped working")
_add("account:recovery_codes:used", "Recovery code used in place of a second factor")
_add("account:recovery:requested", "Account recovery requested")
_add("account:recovery:factors_reset", "Two-factor methods reset by an administrator (recovery)")
_add("account:recovery:declined", "Account recovery request declined by an administrator")
_add("account:security_key:claim", "Security key promo code claimed")
_add("project:create", "Project created")
_add("project:remove", "Project deleted")
_add("project:critical:designate", "Project designated critical")
_add("project:critical:remove", "Project no longer critical")
_add("project:critical:rename", "Critical project renamed")
_add("project:critical:deletion_requested", "Deletion requested; an administrator must approve it")
_add("project:critical:deletion_approved", "Deletion approved by an administrator")
_add("project:critical:deletion_rejected", "Deletion rejected by an administrator")
_add("token:create", "API token created")
_add("token:use", "API token used")
_add("token:revoke", "API token revoked")
_add("role:invite", "Role invitation sent")
_add("role:add", "Role invitation accepted")
_add("role:decline_invite", "Role invitation declined")
_add("role:revoke_invite", "Role invitation withdrawn")
_add("role:remove", "Role removed")
_add("role:change", "Role changed")
_add("admin:change", "Changed by an administrator")
_add("release:yank", "Release yanked")
_add("release:unyank", "Release restored (unyanked)")
_add("release:remove", "Release deleted")
_add("file:remove", "File deleted")
_add("file:upload", _by_publisher("File uploaded"), "publisher", "publisher_id")
_add("publisher:add", _publisher_added, "publisher", "publisher_id", "reified_from_pending")
_add("publisher:remove", _about_publisher("Trusted publisher removed: {}"), "publisher")
_add(
    "publisher:add-pending",
    _about_publisher("Pending trusted publisher added: {}"),
    "publisher",
    "publisher_id",
)
_add(
    "publisher:remove-pending",
    _about_publisher("Pending trusted publisher removed: {}"),
    "publisher",
)
_add(
    "publisher:token",
    _about_publisher("The trusted publisher {} traded a CI job's OIDC token for an upload token"),
    "publisher",
    "publisher_id",
)
_add("upstream:name-allowed", "Name allowed here although the upstream index has it")
_add("require_2fa:enabled", "Two-factor authentication required of every maintainer")
_add("require_2fa:disabled", "Two-factor authentication no longer required of every maintainer")


def _shown(key: str, value) -> str:
    if isinstance(value, dict):  # a trusted publisher's CI claims: the filled ones, in words
        return ", ".join(
            f"{name.replace('_', ' ')} {shown}" for name, shown in value.items() if shown
        )
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return DETAIL_VALUES.get((key, str(value)), str(value))


def describe(tag: str, additional: dict | None) -> Described:
    """The sentence for an event and its remaining details as (label, value) pairs."""
    additional = additional or {}
    sentence, consumed = SENTENCES.get(tag, (None, frozenset()))
    if sentence is None:
        text = tag.split(":", 1)[-1].replace(":", " ").replace("_", " ").capitalize()
    else:
        text = sentence(additional) if callable(sentence) else sentence
    details = []
    for key, value in sorted(additional.items()):
        shown = _shown(key, value)
        if key not in consumed and shown:
            details.append((DETAIL_LABELS.get(key, key.replace("_", " ").capitalize()), shown))
    return Described(text, details)
