"""Background work of the packaging app."""

from django_tasks import task

from bastion.packaging import storage_gc


@task()
def collect_storage_garbage() -> dict:
    """Daily: remove stored files no row owns and dead upload temporaries (see storage_gc)."""
    return storage_gc.collect_garbage().as_dict()
