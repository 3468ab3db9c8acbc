"""Background work of the critical app."""

from django_tasks import task

from bastion.critical import services


@task()
def designate_and_remind() -> dict:
    """Daily: designate and announce, send grace-period reminders, take the stats snapshot."""
    result = services.daily()
    return {"stored": result.stored, "notified": result.notified, "reminded": result.reminded}
