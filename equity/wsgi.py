"""WSGI entry point (gunicorn equity.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from equity.framestack import RoomyFrameStack

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "equity.settings")
application = RoomyFrameStack(get_wsgi_application())
