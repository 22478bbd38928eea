"""What the coupons app does when it hears of an order's payment (connected in apps.py)."""

from django.dispatch import receiver

from apps.coupons.services import coupon_use_give_back
from apps.payment.signals import order_cancelled


@receiver(order_cancelled, dispatch_uid="coupons-give-use-back")
def give_coupon_use_back(sender, *, order_id: int, **kwargs) -> None:
    # Sent inside the transaction that cancels the order: the use comes back with it or not at all.
    coupon_use_give_back(order_id=order_id)
