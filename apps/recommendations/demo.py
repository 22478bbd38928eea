"""Demo data for `seed_catalog`: a few paid orders, their pairs counted, so that `make run`
shows "bought together" lists from the start."""

from __future__ import annotations

from django.db import transaction

from apps.orders.models import ConfirmationStatus, Order, OrderItem, OrderStatus
from apps.recommendations.services import bought_together_count
from apps.shop.models import Product

# The demo orders are recognised by this address: a second run finds them and adds none.
DEMO_EMAIL = "demo.orders@example.com"
# Baskets of positions in the catalog (the first available products by id, from 1). With the
# seed's round-robin over categories, product 1 is bought with products of other categories too.
DEMO_BASKETS: tuple[tuple[int, ...], ...] = (
    (1, 2, 3), (1, 2), (1, 2, 7), (1, 3), (1, 7, 8), (2, 3, 4), (2, 8), (4, 5, 6), (4, 5), (5, 6, 9),
    (9, 10, 11, 12), (10, 11), (3, 9, 10), (7, 8, 12),
)


def demo_orders_seed() -> int:
    """Create the demo orders (paid, their confirmations marked sent so that no e-mail goes out)
    and count their pairs; return how many were created (0 once they exist)."""
    if Order.objects.filter(email=DEMO_EMAIL).exists():
        return 0
    products = list(Product.objects.filter(available=True).order_by("id")[:12])
    created = 0
    with transaction.atomic():
        for basket in DEMO_BASKETS:
            items = [products[position - 1] for position in basket if position <= len(products)]
            if len(items) < 2:
                continue
            order = Order.objects.create(
                first_name="Demo", last_name="Shopper", email=DEMO_EMAIL, address="1 Demo Street",
                postal_code="00000", city="Demo City", status=OrderStatus.PAID, paid=True,
                confirmation_status=ConfirmationStatus.SENT,
            )
            OrderItem.objects.bulk_create(
                OrderItem(order=order, product=product, price=product.price, quantity=1) for product in items
            )
            bought_together_count(order_id=order.id)
            created += 1
    return created
