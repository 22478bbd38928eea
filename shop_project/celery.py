"""The Celery app (`celery -A shop_project worker`): configured from Django's CELERY_ settings."""

import math
import os
from datetime import UTC, datetime
from pathlib import Path

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

from shop_project import logs

# On AWS Lambda (the web function through Zappa, and the worker) the default is production:
# the local settings (SQLite, the filesystem broker) cannot work there. Set before Celery(...),
# which installs its Django support only when it sees the variable.
ON_LAMBDA = "AWS_LAMBDA_FUNCTION_NAME" in os.environ
os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE",
    "shop_project.settings.production" if ON_LAMBDA else "shop_project.settings.local",
)

app = Celery("shop_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# One JSON line per task run, in `celery worker` and the worker Lambda (shop_project/logs.py).
task_prerun.connect(logs.task_started, weak=False)
task_postrun.connect(logs.task_finished, weak=False)


@app.on_after_configure.connect
def make_filesystem_broker_folders(*, source, **_):
    """The embedded broker's folders (`make run`), made before anything publishes or consumes.

    kombu's filesystem transport does not create them, and the web process may publish before
    a worker has started. Celery reads its configuration once, lazily: on the first publish in
    the web process, at start in a worker; the settings themselves make no folder.
    """
    if not str(source.broker_url).startswith("filesystem://"):
        return
    options = source.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


# SQS holds a message back for at most 15 minutes; a longer countdown is held again by the
# worker Lambda when the message arrives early.
SQS_MAX_DELAY_SECONDS = 900


@before_task_publish.connect
def delay_sqs_message_until_eta(*, headers, properties, **_):
    """A countdown or eta becomes SQS DelaySeconds, so no consumer sees the message early.

    Celery workers on other brokers keep early messages in memory until their eta; the
    worker Lambda cannot wait, so on SQS the queue does the waiting.
    """
    if not app.conf.broker_url.startswith("sqs"):
        return
    eta = headers.get("eta")
    if not eta:
        return
    due = datetime.fromisoformat(eta)
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    remaining = (due - datetime.now(UTC)).total_seconds()
    if remaining > 0:
        properties["delay_seconds"] = min(math.ceil(remaining), SQS_MAX_DELAY_SECONDS)
