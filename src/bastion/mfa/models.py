"""Second factors of an account, and the requests to recover an account that lost them.

A factor exists only once it is confirmed: a TOTP secret waits in the session until the first
code proves the authenticator app has it, and a WebAuthn credential is stored only after its
registration ceremony verifies. So "has a row" means "can sign in with it".
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class TOTPDevice(models.Model):
    """The authenticator app of a user. The secret is encrypted (see :mod:`bastion.mfa.crypto`)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    encrypted_secret = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    # The 30-second step of the last accepted code: that code, and every older one, is spent.
    last_used_step = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"authenticator app of {self.user}"


class WebAuthnCredential(models.Model):
    """A security key or a passkey. A passkey is discoverable: it can name its user by itself."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webauthn_credentials"
    )
    label = models.CharField(max_length=64)
    credential_id = models.CharField(
        max_length=1400, unique=True, help_text="base64url of the raw credential ID."
    )
    public_key = models.BinaryField(help_text="COSE-encoded public key.")
    sign_count = models.BigIntegerField(default=0)
    discoverable = models.BooleanField(
        default=False, help_text="A passkey: signs in with no password and no username."
    )
    transports = models.JSONField(default=list, blank=True)
    aaguid = models.CharField(max_length=36, blank=True)
    backed_up = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    clone_suspected_at = models.DateTimeField(
        null=True, blank=True, help_text="When its signature counter went backwards."
    )

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "label"], name="webauthn_label_unique_per_user")
        ]

    def __str__(self) -> str:
        kind = "passkey" if self.discoverable else "security key"
        return f"{kind} '{self.label}' of {self.user}"

    @property
    def method(self) -> str:
        return "passkey" if self.discoverable else "webauthn"


class RecoveryCode(models.Model):
    """One single-use recovery code, stored only as an Argon2 hash."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=255)
    created = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        state = "used" if self.used_at else "unused"
        return f"{state} recovery code of {self.user}"


class RecoveryStatus(models.TextChoices):
    OPEN = "open"
    RESET = "reset", "factors reset"
    DECLINED = "declined"


class RecoveryRequest(models.Model):
    """A plea from someone who lost every factor, waiting in the admins' queue.

    ``user`` is set when the name given matches an account, but the requester is never told
    whether it did. After an admin resets the factors, the account may not publish until
    ``publishing_frozen_until``: a hijacker who fooled support is seen by the real owner (every
    verified address is mailed at once) before they can upload anything.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="recovery_requests",
    )
    identifier = models.CharField(max_length=254, help_text="Username or email, as typed.")
    details = models.TextField(help_text="What happened, and how the requester can prove it.")
    created = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=RecoveryStatus.choices, default=RecoveryStatus.OPEN
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_reason = models.TextField(
        blank=True, help_text="How the admin verified the person, or why they declined."
    )
    publishing_frozen_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"recovery request #{self.pk} for '{self.identifier}' ({self.status})"

    def age(self, now=None):
        return (now or timezone.now()) - self.created
