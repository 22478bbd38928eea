"""What a warm Lambda container does once, on its first invocation: Django and the task registry."""

from __future__ import annotations

import django
from django.apps import apps as django_apps

from shop_project.celery import app

_django_ready = False


def django_setup_once() -> None:
    """django.setup() and every app's tasks registered, once per container, not per record."""
    global _django_ready
    if _django_ready:
        return
    django.setup()
    # The apps' tasks modules, as `celery worker` imports them at start, so that every task a
    # message can name is registered. Not through app.loader.import_default_modules(), whose
    # Django fixup would set Django up a second time.
    app.autodiscover_tasks([config.name for config in django_apps.get_app_configs()], force=True)
    _django_ready = True
