"""Background work of the accounts app."""

from django_tasks import task

from bastion.accounts.domains import default_resolver, unverify_emails_on_expired_domains


@task()
def check_email_domains() -> int:
    """Daily: unverify addresses on lapsed domains (the ``ctx`` takeover). Off without RDAP."""
    resolver = default_resolver()
    if resolver is None:
        return 0
    return len(unverify_emails_on_expired_domains(resolver))
