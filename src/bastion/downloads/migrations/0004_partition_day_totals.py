"""Event partitions say each day's rows and downloads when their day files are in rollup order.

Partitions written before stay without (NULL): their days are rolled up by aggregation as before.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('downloads', '0003_rollup_in_parquet'),
    ]

    operations = [
        migrations.AddField(
            model_name='eventpartition',
            name='day_totals',
            field=models.JSONField(help_text="Each day's [rows, downloads] when the day files are written in rollup order (one row per project and class, sorted by project): a day only this partition holds is published as it is. Empty for BigQuery rollups and partitions written before.", null=True),
        ),
    ]
