"""Background work of the downloads app."""

from django_tasks import task

from bastion.downloads import services


@task()
def rollup_downloads() -> list[str]:
    """Hourly: fold new download segments into the daily rollup; returns the days rebuilt."""
    return services.rebuild_rollup().days
