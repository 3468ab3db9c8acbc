"""When each periodic job was last handed to the task backend."""

from django.db import models


class ScheduledRun(models.Model):
    """One row per periodic job. A worker locks it while deciding, so two workers never both
    enqueue the same run."""

    name = models.CharField(max_length=64, unique=True)
    last_enqueued = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
