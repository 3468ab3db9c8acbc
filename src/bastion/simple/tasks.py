"""Background work of the simple app."""

from django_tasks import task

from bastion.simple import services


@task()
def refresh_project_list(serial: int) -> bool:
    """Re-render the project list, unless a render since ``serial`` already covered it.

    Every change alters the list (it carries each project's serial), and rendering it takes
    about 1.2 s at 500,000 projects: with a worker, that leaves the upload's request, and a
    burst of uploads queued behind one render costs one more render, not one each.
    """
    return services.refresh_root(serial)
