"""Daily download rollups, and the event files they are computed from.

The rollup lives in the database so that every page and the critical-project designation read it
the same way on SQLite and PostgreSQL. The events themselves stay in the data directory as
Parquet, where DuckDB aggregates them far faster than any database row-by-row.
"""

from django.db import models


class RollupSource(models.TextChoices):
    EVENTS = "events", "Events: Bastion's own downloads and imported PyPI rows"
    BIGQUERY = "bigquery", "A rollup computed on BigQuery and imported"


class DailyDownloads(models.Model):
    """How often one project was downloaded on one day by one installer class."""

    project_name = models.CharField(max_length=255, help_text="PEP 503 normalized name.")
    day = models.DateField()
    installer_class = models.CharField(max_length=16)
    source = models.CharField(max_length=16, choices=RollupSource.choices)
    count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project_name", "day", "installer_class", "source"],
                name="one_count_per_project_day_class_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.project_name} {self.day} {self.installer_class}: {self.count}"


class EventPartition(models.Model):
    """One immutable set of download events in the data directory, and whether it is rolled up.

    ``key`` names the directory under ``DATA_DIR/downloads/events/``. For an import it is the
    content hash of the export, which is what makes importing the same export twice a no-op.
    """

    key = models.CharField(max_length=80, unique=True)
    origin = models.CharField(max_length=512, help_text="The imported file, or 'recorder'.")
    rows = models.BigIntegerField()
    days = models.JSONField(default=list, help_text="ISO dates the partition holds events for.")
    created = models.DateTimeField(auto_now_add=True)
    rolled_up = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.key} ({self.rows} rows)"
