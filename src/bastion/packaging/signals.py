"""Signals other apps listen to, so packaging never imports the apps that depend on it."""

from django.dispatch import Signal

#: Sent after a transaction that changed a project commits. Argument: ``normalized_name``.
project_changed = Signal()
