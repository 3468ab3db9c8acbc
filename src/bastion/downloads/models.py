"""The bookkeeping of download statistics; the counts themselves live in Parquet files.

Counts stay in the data directory, where DuckDB writes 16 million daily (project, class) rows in
seconds and ranks 500,000 projects in one: loading them into SQLite one B-tree insert at a time
took longer than importing the 50 million events they came from. The database keeps what must be
transactional: which files have been imported, which are rolled up, and which rollup file is
current for each day.
"""

from django.db import models


class PartitionKind(models.TextChoices):
    EXPORT = "export", "An imported BigQuery file_downloads export"
    RECORDED = "recorded", "Bastion's own downloads, compacted from the recorder's segments"
    BIGQUERY = "bigquery", "A rollup computed on BigQuery and imported"


class EventPartition(models.Model):
    """One immutable, day-partitioned set of download counts in the data directory.

    ``key`` names the directory under ``DATA_DIR/downloads/events/``. For an import it is the
    content hash of the file, which is what makes importing the same file twice a no-op.
    """

    key = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=16, choices=PartitionKind.choices)
    origin = models.CharField(max_length=512, help_text="The imported file, or 'recorder'.")
    rows = models.BigIntegerField(
        help_text="Good rows imported: events, or rows of a BigQuery rollup."
    )
    days = models.JSONField(default=list, help_text="ISO dates the partition holds counts for.")
    day_totals = models.JSONField(
        null=True,
        help_text=(
            "Each day's [rows, downloads] when the day files are written in rollup order (one "
            "row per project and class, sorted by project): a day only this partition holds is "
            "published as it is. Empty for BigQuery rollups and partitions written before."
        ),
    )
    created = models.DateTimeField(auto_now_add=True)
    rolled_up = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.key} ({self.rows} rows)"


class RollupDay(models.Model):
    """Which rollup file holds one day's counts: swapping these rows is what publishes a rollup,
    so readers see either the old or the new counts of a day, never a half-written file."""

    day = models.DateField(unique=True)
    path = models.CharField(max_length=255, help_text="Relative to DATA_DIR/downloads/rollup/.")
    rows = models.BigIntegerField(help_text="(project, installer class) rows of the day.")
    downloads = models.BigIntegerField(help_text="Downloads of every class on the day.")
    built = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.day}: {self.path}"
