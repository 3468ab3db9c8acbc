import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bastion.settings")
django_application = get_wsgi_application()

from bastion.server import pin_worker_threads  # noqa: E402 - reads the settings
from bastion.simple.readpath import ReadPath  # noqa: E402 - needs the app registry loaded
from bastion.web.request_bodies import BodyDeadline  # noqa: E402

# The index's read traffic (/simple/, /files/) is answered before Django's middleware; every
# request body that Django reads must keep arriving at a minimum rate.
application = ReadPath(BodyDeadline(django_application))
pin_worker_threads()
