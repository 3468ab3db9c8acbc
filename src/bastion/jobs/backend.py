"""Which backend runs tasks: the default immediate one, or django-tasks-db's queue in the database.

Apart from the worker, so that what only asks which backend is configured (the metrics' queue
depth) does not import the worker's schedule and, through it, every app's tasks.
"""

from django.conf import settings


def uses_database_backend() -> bool:
    return settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"
