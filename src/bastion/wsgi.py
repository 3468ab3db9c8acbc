import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bastion.settings")
django_application = get_wsgi_application()

from bastion.simple.readpath import ReadPath  # noqa: E402 - needs the app registry loaded

# The index's read traffic (/simple/, /files/) is answered before Django's middleware.
application = ReadPath(django_application)
