"""Counting what a paid order's products were bought together with (once per order)."""

from __future__ import annotations

import itertools
import logging

from django.db import IntegrityError, transaction
from django.db.models import F

from apps.orders.models import Order, OrderItem
from apps.recommendations.models import CountedOrder, ProductPair

logger = logging.getLogger(__name__)

# Rows written per INSERT; an order of n products writes n·(n−1) of them.
_BATCH = 500


def bought_together_count(*, order_id: int) -> bool:
    """Add one to the count of every pair of the order's products; False if it was counted before.

    One transaction: the order is marked counted (its primary key is the order's, so a second
    delivery of the task, even a concurrent one, fails to mark it and counts nothing), missing
    pairs are inserted at zero (ON CONFLICT DO NOTHING), and the order's pairs get +1 in one
    UPDATE with F(). Nothing is counted if any step fails, and the task may simply run again.
    """
    with transaction.atomic():
        # Checked first: the marker's foreign key is only checked at commit on PostgreSQL.
        if not Order.objects.filter(id=order_id).exists():
            logger.warning("order %s: no such order, nothing counted", order_id)
            return False
        try:
            with transaction.atomic():
                CountedOrder.objects.create(order_id=order_id)
        except IntegrityError:
            logger.info("order %s: bought-together counts already recorded", order_id)
            return False
        items = OrderItem.objects.filter(order_id=order_id)
        product_ids = sorted(set(items.values_list("product_id", flat=True)))
        if len(product_ids) < 2:
            return True
        pairs = (ProductPair(product_id=a, other_id=b, count=0)
                 for a, b in itertools.permutations(product_ids, 2))
        # In (product, other) order, as every order's task inserts them: concurrent tasks queue.
        ProductPair.objects.bulk_create(pairs, ignore_conflicts=True, batch_size=_BATCH)
        ProductPair.objects.filter(product_id__in=product_ids, other_id__in=product_ids).update(
            count=F("count") + 1
        )
    return True
