"""What other apps hear of an order's payment.

Both are sent inside the transaction that changes the order, holding its row lock: a receiver
that writes (a coupon's use given back) commits or rolls back with it, and one that publishes
work (the invoice e-mail, the bought-together counts) does so with transaction.on_commit.
"""

from django.dispatch import Signal

# The order became paid (once per order). Arguments: order_id.
order_paid = Signal()
# An unpaid order was cancelled (expired, or by staff) and its stock put back. Arguments: order_id.
order_cancelled = Signal()
