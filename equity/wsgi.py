"""WSGI entry point (gunicorn equity.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "equity.settings")
application = get_wsgi_application()
