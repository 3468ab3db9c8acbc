"""Background work of trusted publishing."""

from django_tasks import task

from bastion.publishing import services


@task()
def forget_expired() -> int:
    """Daily: drop publishers' upload tokens a day after they expired, and seen token ids that
    could no longer verify. Uploads' security events keep the claims."""
    return services.forget_expired()
