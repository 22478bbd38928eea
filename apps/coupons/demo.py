"""Demo data for `seed_catalog`: a coupon to try on the cart page with `make run`."""

from datetime import timedelta

from django.utils import timezone

from apps.coupons.models import Coupon

DEMO_CODE = "WELCOME10"


def demo_coupon_seed() -> Coupon | None:
    """The demo coupon (10% off for a year, no limit), or None if it exists already."""
    now = timezone.now()
    coupon, created = Coupon.objects.get_or_create(
        code=DEMO_CODE,
        defaults={"valid_from": now - timedelta(days=1), "valid_to": now + timedelta(days=365),
                  "discount": 10},
    )
    return coupon if created else None
