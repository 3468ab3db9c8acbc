"""Every project hosted before this migration is a hosted name: never from the upstream."""

from django.db import migrations


def record_hosted_names(apps, schema_editor):
    Project = apps.get_model("packaging", "Project")
    HostedName = apps.get_model("upstream", "HostedName")
    names = Project.objects.values_list("normalized_name", flat=True)
    HostedName.objects.bulk_create(
        [HostedName(normalized_name=name) for name in names.iterator()],
        ignore_conflicts=True,
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("upstream", "0002_hostedname"),
        ("packaging", "0002_management"),
    ]

    operations = [migrations.RunPython(record_hosted_names, migrations.RunPython.noop)]
