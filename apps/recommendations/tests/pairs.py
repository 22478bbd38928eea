"""What the bought-together tests build and read: paid orders, and the pair counts as a dict."""

from apps.orders.models import Order, OrderStatus
from apps.orders.tests.factories import OrderFactory, OrderItemFactory
from apps.recommendations.models import ProductPair


def paid_order(*products) -> Order:
    order = OrderFactory(status=OrderStatus.PAID, paid=True)
    for product in products:
        OrderItemFactory(order=order, product=product)
    return order


def counts() -> dict[tuple[int, int], int]:
    return {(p.product_id, p.other_id): p.count for p in ProductPair.objects.all()}
