"""The garbage collector held back while the process starts, then told to skip what the start built.

A start (a Lambda container's first event, a gunicorn or Celery worker's boot, `manage.py`)
builds hundreds of thousands of objects that live as long as the process: modules, classes,
functions, models, URL patterns. Python's cyclic collector runs every 700 allocations and, as the
heap grows, walks all of them again; it finds nothing to free and costs about 8 % of a Lambda
cold start's instructions (bench/cold_start.py counts them).

So the settings, the first module of ours a start imports, make collections rare
(`hold_collector`: every 50,000 allocations, not never, so a process that never reaches
ready() still collects), and once every app is ready (`StartupConfig`, last in INSTALLED_APPS)
what exists is frozen, moved where later collections never walk it, and the usual thresholds
come back. Requests then collect as usual, over the objects they made.
"""

import gc

from django.apps import AppConfig

START_THRESHOLD = 50_000
_usual_thresholds: tuple[int, ...] | None = None


def hold_collector() -> None:
    global _usual_thresholds
    if _usual_thresholds is None:  # held once: a second call must not save the raised value
        _usual_thresholds = gc.get_threshold()
        gc.set_threshold(START_THRESHOLD, *_usual_thresholds[1:])


def release_collector() -> None:
    global _usual_thresholds
    gc.freeze()
    if _usual_thresholds is not None:
        gc.set_threshold(*_usual_thresholds)
        _usual_thresholds = None


class StartupConfig(AppConfig):
    """Last in INSTALLED_APPS: its ready() runs after every other app's."""

    name = "shop_project.startup"
    label = "startup"
    verbose_name = "Process start"

    def ready(self):
        release_collector()
