"""pytest fixture: the Celery tasks a test published, without a broker or a worker.

The root conftest.py loads this module as a plugin. A module may define its own `published`
that records more of each message (apps/orders/tests/test_order_confirmation.py does).
"""

import pytest
from celery.signals import before_task_publish


@pytest.fixture
def published():
    """The Celery tasks published during the test: (task name, args)."""
    messages = []

    def record(sender, body, **_):
        messages.append((sender, list(body[0])))

    before_task_publish.connect(record, weak=False)
    yield messages
    before_task_publish.disconnect(record)
