"""What the recommendations app does when an order is paid (connected in apps.py)."""

import logging

from django.db import transaction
from django.dispatch import receiver

from apps.payment.signals import order_paid

logger = logging.getLogger(__name__)


@receiver(order_paid, dispatch_uid="recommendations-count-paid-order")
def count_paid_order(sender, *, order_id: int, **kwargs) -> None:
    # Sent inside the transaction that marks the order paid: published once it is committed.
    transaction.on_commit(lambda: bought_together_publish(order_id=order_id), robust=True)


def bought_together_publish(*, order_id: int) -> bool:
    """Queue the counting of a paid order; False (logged) if the broker did not take it.

    The counts are a recommendation, not a record: an order whose task was never queued is
    simply not counted, and the payment it follows is never held up by the broker.
    """
    from apps.orders.services import PUBLISH_CONFIRM_TIMEOUT_SECONDS, PUBLISH_RETRY_POLICY
    from apps.recommendations.tasks import bought_together_count

    try:
        bought_together_count.apply_async(
            args=[order_id], retry=True, retry_policy=PUBLISH_RETRY_POLICY,
            confirm_timeout=PUBLISH_CONFIRM_TIMEOUT_SECONDS,
        )
    except Exception:
        logger.warning("order %s: bought-together counting not queued", order_id, exc_info=True)
        return False
    return True
