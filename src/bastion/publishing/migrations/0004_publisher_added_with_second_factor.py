from django.db import migrations, models


def vouch_for_publishers_whose_adder_has_a_second_factor(apps, schema_editor):
    """Whether an existing publisher's adder had a second factor then is not recorded; the
    best evidence is whether they have one now (and the operator, who added those without an
    adder, always vouches). A publisher this leaves unvouched is refused only on a critical
    project past its enforcement date, until an owner with 2FA adds it again."""
    Publisher = apps.get_model("publishing", "Publisher")
    TOTPDevice = apps.get_model("mfa", "TOTPDevice")
    WebAuthnCredential = apps.get_model("mfa", "WebAuthnCredential")
    with_factor = set(TOTPDevice.objects.values_list("user_id", flat=True))
    with_factor |= set(WebAuthnCredential.objects.values_list("user_id", flat=True))
    Publisher.objects.filter(
        models.Q(added_by__isnull=True) | models.Q(added_by__in=with_factor)
    ).update(added_with_second_factor=True)


class Migration(migrations.Migration):
    dependencies = [
        ("mfa", "0001_initial"),
        ("publishing", "0003_exchange_other_publishers"),
    ]

    operations = [
        migrations.AddField(
            model_name="publisher",
            name="added_with_second_factor",
            field=models.BooleanField(
                default=False,
                help_text="Whoever added it had a second factor, or was the operator: only such "
                "a publisher uploads to a critical project once its mandate is enforced.",
            ),
        ),
        migrations.RunPython(
            vouch_for_publishers_whose_adder_has_a_second_factor, migrations.RunPython.noop
        ),
    ]
