"""Background work of the security key program."""

from django_tasks import task

from bastion.keys import services


@task()
def send_key_reminders() -> int:
    """Daily: nudge claimers who have not registered their key yet."""
    return services.send_reminders()
