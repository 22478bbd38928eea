"""WSGI entry point: gunicorn in the docker stack, Zappa's handler on Lambda."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_project.settings.production")

application = get_wsgi_application()
