"""Signals other apps listen to, so packaging never imports the apps that depend on it."""

from django.dispatch import Signal

#: Sent after a transaction that changed a project commits. Arguments: ``normalized_name``, and
#: ``status``: the project's status as that transaction left it when the change read it under the
#: project row's lock, else "" (read it, if needed: the project may be gone).
project_changed = Signal()
