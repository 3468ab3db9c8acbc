"""The hardware security key program: vendors and the promo codes they supplied.

A code is stored encrypted (``bastion.mfa.crypto``, its own purpose) and found by a keyed digest,
so a database dump, the admin and the logs never show it; only the account that claimed it gets
it decrypted, on its own key offer page. A claimed code is a code row with ``claimed_by`` set:
one row can be claimed once, and ``(claimed_by, slot)`` is unique, so two claims of one account
that counted the same codes collide even if they raced past the account lock.
"""

from django.conf import settings
from django.db import models


class Vendor(models.Model):
    """Who redeems the codes. Created by the import; operators write the instructions."""

    slug = models.CharField(max_length=64, unique=True, help_text="As in the CSV's vendor column.")
    name = models.CharField(max_length=128, help_text="Shown to people, e.g. 'Google Titan'.")
    redeem_url = models.URLField(blank=True, help_text="Where the code is redeemed.")
    instructions = models.TextField(
        blank=True, help_text="How to redeem a code: shown with the code after a claim."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PromoCode(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="codes")
    country = models.CharField(
        max_length=2, blank=True, help_text="ISO 3166-1 alpha-2; empty for any country."
    )
    batch = models.CharField(max_length=64, blank=True)
    encrypted_code = models.TextField()
    digest = models.CharField(max_length=64, unique=True, help_text="HMAC of the code.")
    imported_at = models.DateTimeField(auto_now_add=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="promo_codes",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    slot = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Which of the account's codes this is (1 for the first)."
    )
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["claimed_by", "slot"], name="one_code_per_share_slot"),
            models.CheckConstraint(
                condition=models.Q(claimed_by__isnull=True, claimed_at__isnull=True, slot=None)
                | models.Q(claimed_by__isnull=False, claimed_at__isnull=False, slot__gte=1),
                name="claimed_code_is_complete",
            ),
        ]
        indexes = [
            models.Index(
                fields=["vendor", "country", "id"],
                condition=models.Q(claimed_by__isnull=True),
                name="promo_code_unclaimed",
            )
        ]

    def __str__(self) -> str:  # never the code itself: this shows in the admin and in logs
        where = self.country or "any country"
        return f"{self.vendor} code #{self.pk} ({where}, batch {self.batch or '-'})"
