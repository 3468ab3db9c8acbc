"""The daily rollup moves from the DailyDownloads table to Parquet files listed by RollupDay.

Every existing partition is marked as not rolled up, so the next ``bastion downloads rollup``
rebuilds all their days into files (it reads partitions written before this change too). Counts
imported with ``import-rollup`` lived only in the dropped table: import those files again.
"""

from django.db import migrations, models


def classify_partitions(apps, schema_editor):
    EventPartition = apps.get_model("downloads", "EventPartition")
    EventPartition.objects.filter(key__startswith="recorded-").update(kind="recorded")
    EventPartition.objects.update(rolled_up=False)


class Migration(migrations.Migration):
    dependencies = [
        ("downloads", "0002_drop_day_class_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="eventpartition",
            name="kind",
            field=models.CharField(
                choices=[
                    ("export", "An imported BigQuery file_downloads export"),
                    ("recorded", "Bastion's own downloads, compacted from the recorder's segments"),
                    ("bigquery", "A rollup computed on BigQuery and imported"),
                ],
                default="export",
                max_length=16,
            ),
            preserve_default=False,
        ),
        migrations.RunPython(classify_partitions, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="eventpartition",
            name="rows",
            field=models.BigIntegerField(
                help_text="Good rows imported: events, or rows of a BigQuery rollup."
            ),
        ),
        migrations.AlterField(
            model_name="eventpartition",
            name="days",
            field=models.JSONField(
                default=list, help_text="ISO dates the partition holds counts for."
            ),
        ),
        migrations.DeleteModel(name="DailyDownloads"),
        migrations.CreateModel(
            name="RollupDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField(unique=True)),
                (
                    "path",
                    models.CharField(
                        help_text="Relative to DATA_DIR/downloads/rollup/.", max_length=255
                    ),
                ),
                (
                    "rows",
                    models.BigIntegerField(help_text="(project, installer class) rows of the day."),
                ),
                (
                    "downloads",
                    models.BigIntegerField(help_text="Downloads of every class on the day."),
                ),
                ("built", models.DateTimeField(auto_now=True)),
            ],
        ),
    ]
