"""WSGI entry point, for gunicorn or mod_wsgi when deployed: no ASGI server is needed, the
WebSockets live on the rooms server."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
application = get_wsgi_application()
