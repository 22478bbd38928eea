"""Writes and checks of the coupons app: finding a typed code, taking a use at checkout, giving
it back when an unpaid order is cancelled, and taking it again when that order is paid late."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from apps.coupons.exceptions import (
    CouponChanged,
    CouponError,
    CouponExpiredError,
    CouponInactiveError,
    CouponNotYetValidError,
    CouponUnavailableError,
    CouponUnknownError,
    CouponUsedUpError,
)
from apps.coupons.models import CODE_MAX_LENGTH, CODE_PATTERN, Coupon, normalize_code
from apps.orders.exceptions import CheckoutChangedError
from apps.orders.shown import ShownCoupon

logger = logging.getLogger(__name__)


def coupon_problem(coupon: Coupon, *, now: datetime) -> CouponError | None:
    """Why `coupon` cannot be used at `now`, or None if it can."""
    if not coupon.active:
        return CouponInactiveError(coupon.code)
    if now < coupon.valid_from:
        return CouponNotYetValidError(coupon.code, coupon.valid_from)
    if now >= coupon.valid_to:
        return CouponExpiredError(coupon.code, coupon.valid_to)
    if coupon.max_uses is not None and coupon.used >= coupon.max_uses:
        return CouponUsedUpError(coupon.code)
    return None


def coupon_find(*, code: str, now: datetime | None = None) -> Coupon:
    """The coupon a shopper typed (any case, surrounding spaces ignored), if it can be used now.

    Raises a CouponError saying why not. A code no coupon could have costs no query.
    """
    normalized = normalize_code(code) if isinstance(code, str) else ""
    if not (len(normalized) <= CODE_MAX_LENGTH and CODE_PATTERN.match(normalized)):
        raise CouponUnknownError()
    coupon = Coupon.objects.filter(code=normalized).first()
    if coupon is None:
        raise CouponUnknownError(normalized)
    problem = coupon_problem(coupon, now=now or timezone.now())
    if problem is not None:
        raise problem
    return coupon


def coupon_use_take(*, coupon_id: int | None, shown: ShownCoupon | None) -> Coupon | None:
    """Inside the checkout transaction: the coupon the order gets, with one use taken, or None.

    The coupon's row is locked (after the products', as every checkout does, so they queue
    rather than deadlock), so that of concurrent checkouts only as many as max_uses allows see
    a use left. What the checkout page showed (`shown`) must still hold: a coupon it showed that
    cannot be used now raises CouponUnavailableError, another coupon or percent than it showed
    CheckoutChangedError. A coupon the page did not show because it could not be used is left out.
    """
    coupon = Coupon.objects.select_for_update().filter(id=coupon_id).first() if coupon_id else None
    problem = coupon_problem(coupon, now=timezone.now()) if coupon is not None else None
    if coupon is None or problem is not None:
        if shown is None:
            return None
        reason = str(problem) if problem else gettext(
            "The coupon %(code)s is no longer applied to your cart.") % {"code": shown.code}
        raise CouponUnavailableError(shown.code, reason)
    if shown is None or (shown.code, shown.discount) != (coupon.code, coupon.discount):
        now_shown = ShownCoupon(coupon.code, coupon.discount)
        raise CheckoutChangedError([CouponChanged(shown=_describe(shown), now=_describe(now_shown))])
    # A difference, as stock is taken; the row lock and the check above keep it within max_uses,
    # and the table's check constraint is the last guard.
    Coupon.objects.filter(id=coupon.id).update(used=F("used") + 1)
    return coupon


def coupon_use_give_back(*, order_id: int) -> bool:
    """The order no longer needs its coupon's use (cancelled unpaid): give it back, once.

    The order's coupon_use_held flag is cleared with a conditional UPDATE, which only one caller
    can win however often the cancellation is reported; only the winner gives the use back.
    Returns whether this call gave it back.
    """
    from apps.orders.models import Order  # the orders app's models import this app's

    holding = Order.objects.filter(id=order_id, coupon_use_held=True)
    coupon_id = holding.values_list("coupon_id", flat=True).first()
    cleared = holding.update(coupon_use_held=False)
    if not cleared:
        return False
    if coupon_id is not None:
        Coupon.objects.filter(id=coupon_id, used__gt=0).update(used=F("used") - 1)
    logger.info("order %s cancelled: its use of coupon %s was given back", order_id, coupon_id)
    return True


def coupon_use_retake(*, order_id: int) -> bool:
    """A cancelled order was paid after all: take its coupon's use again if one is left.

    Runs in the transaction that marks the order paid, holding the order's lock (so the order's
    coupon_use_held cannot change under it) and after its products', as checkout locks them.
    The coupon's row lock queues it behind a checkout taking a use, so the last use goes to one
    of them and the table's `used <= max_uses` check is never reached. Returns False when the
    uses went to other orders meanwhile: the shopper paid the discounted price all the same,
    and the caller tells staff. A coupon that expired or was deactivated since still counts the
    use: the shopper was offered it while it was valid.
    """
    from apps.orders.models import Order  # the orders app's models import this app's

    released = Order.objects.filter(id=order_id, coupon_use_held=False, coupon__isnull=False)
    coupon_id = released.values_list("coupon_id", flat=True).first()
    if coupon_id is None:
        return True  # no coupon, or its use is still held
    coupon = Coupon.objects.select_for_update().get(id=coupon_id)
    if coupon.max_uses is not None and coupon.used >= coupon.max_uses:
        logger.warning("order %s paid late: coupon %s has no use left for it", order_id, coupon_id)
        return False
    Coupon.objects.filter(id=coupon_id).update(used=F("used") + 1)
    released.update(coupon_use_held=True)
    logger.info("order %s paid late: its use of coupon %s was taken again", order_id, coupon_id)
    return True


def _describe(shown: ShownCoupon | None) -> str:
    if shown is None:
        return gettext("no coupon")
    return gettext("%(code)s (%(discount)s%% off)") % {"code": shown.code, "discount": shown.discount}
