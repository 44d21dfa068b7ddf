"""The project: settings from the environment, URLs, the admin site, WSGI and ASGI entry points."""
