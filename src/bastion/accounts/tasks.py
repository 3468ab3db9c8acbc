"""Background work of the accounts app."""

from django_tasks import task

from bastion.accounts import services
from bastion.accounts.domains import default_resolver, unverify_emails_on_expired_domains
from bastion.events.services import Origin


@task()
def check_email_domains() -> int:
    """Daily: unverify addresses on lapsed domains (the ``ctx`` takeover). Off without RDAP."""
    resolver = default_resolver()
    if resolver is None:
        return 0
    return len(unverify_emails_on_expired_domains(resolver))


@task()
def send_password_reset(address: str, ip_address: str | None, user_agent: str) -> None:
    """A reset request, after its answer: see ``services.request_password_reset``."""
    origin = Origin(ip_address=ip_address, user_agent=user_agent)
    services.send_password_reset(address=address, origin=origin)
