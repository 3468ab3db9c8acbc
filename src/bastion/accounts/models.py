"""Accounts: the custom user model and its email addresses."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import QuerySet
from django.db.models.functions import Lower


class User(AbstractUser):
    """A person who can own projects. Email addresses live in :class:`Email`, not on the user."""

    def primary_email(self) -> "Email | None":
        return self.emails.filter(primary=True).first()

    def has_verified_primary_email(self) -> bool:
        return Email.verified_primary_of(self).exists()


class UnverifyReason(models.TextChoices):
    """Why a once-verified address lost its verification; shown to the owner on the account page."""

    DOMAIN_EXPIRED = "domain-expired", "its domain's registration lapsed"
    DOMAIN_REREGISTERED = "domain-reregistered", "its domain was registered again since"


class Email(models.Model):
    """An address of a user. Only a verified address may receive a reset or prove ownership."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="emails")
    email = models.EmailField(max_length=254)
    primary = models.BooleanField(default=False)
    verified = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    # When the owner proved control; a domain registered after this moment changed hands since.
    verified_at = models.DateTimeField(null=True, blank=True)
    unverified_reason = models.CharField(max_length=32, blank=True, choices=UnverifyReason.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="email_unique_case_insensitive"),
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(primary=True), name="one_primary_email"
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @staticmethod
    def verified_primary_of(user: "User") -> "QuerySet[Email]":
        """The user's primary address if it is verified (the gate asks the same in its facts'
        statement, ``bastion.authz._facts_statement``)."""
        return Email.objects.filter(models.Q(user=user), primary=True, verified=True)

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[-1].lower()


class Invitation(models.Model):
    """An administrator's invitation to register (``BASTION_REGISTRATION=invite``).

    The mailed link carries a random secret; only its SHA-256 digest is kept. The link creates one
    account, with the invited address already verified, and then stops working.
    """

    email = models.EmailField(max_length=254)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(editable=False)
    accepted = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"
