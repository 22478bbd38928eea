"""Which orders this browser session placed: only it may see their thank-you pages."""

from apps.orders.models import Order

# The latest few, so that a shopper who comes back to an older tab still sees it.
_PLACED_ORDERS_SESSION_KEY = "orders_placed"
_PLACED_ORDERS_REMEMBERED = 20


def remember_placed_order(*, session, order: Order) -> None:
    placed = [i for i in _placed_order_ids(session) if i != order.id]
    session[_PLACED_ORDERS_SESSION_KEY] = (placed + [order.id])[-_PLACED_ORDERS_REMEMBERED:]


def order_placed_by_session(*, session, order_id: int) -> Order | None:
    if order_id not in _placed_order_ids(session):
        return None
    return Order.objects.prefetch_related("items__product").filter(id=order_id).first()


def _placed_order_ids(session) -> list[int]:
    ids = session.get(_PLACED_ORDERS_SESSION_KEY)
    if not isinstance(ids, list):
        return []
    return [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
