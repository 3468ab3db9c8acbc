"""The embedded database's Django backend: SQLite, with its writers queued (see :mod:`.base`)."""
