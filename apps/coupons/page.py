"""What a page that shows the cart's totals (cart, checkout) does with the applied coupon."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.utils import timezone
from django.utils.translation import gettext

from apps.coupons.discount import Totals, order_totals
from apps.coupons.forms import CouponApplyForm
from apps.coupons.models import Coupon
from apps.coupons.services import coupon_problem
from apps.coupons.session import COUPON_SESSION_KEY, session_coupon_drop, session_coupon_id


def coupon_for_page(request) -> Coupon | None:
    """The session's coupon if it can be used now (one query, none without a coupon).

    One that cannot (expired, deactivated, used up, deleted) leaves the session with a notice,
    so that the totals the page shows are the ones an order would get.
    """
    session = request.session
    coupon_id = session_coupon_id(session)
    if coupon_id is None:
        if COUPON_SESSION_KEY in session:  # a damaged value
            session_coupon_drop(session)
        return None
    coupon = Coupon.objects.filter(id=coupon_id).first()
    if coupon is None:
        messages.warning(request, gettext(
            "The coupon you applied no longer exists and was removed from your cart."))
    else:
        problem = coupon_problem(coupon, now=timezone.now())
        if problem is None:
            return coupon
        notice = gettext("%(problem)s It was removed from your cart.") % {"problem": problem}
        messages.warning(request, notice)
    session_coupon_drop(session, coupon_id)
    return None


def cart_totals(lines, coupon: Coupon | None) -> Totals:
    subtotal = sum((line.total_price for line in lines), Decimal("0.00"))
    return order_totals(subtotal, coupon.discount if coupon else 0)


def cart_page_coupon(request, lines) -> dict:
    """The cart page's coupon box and totals, for its template context."""
    coupon = coupon_for_page(request) if lines else None
    return {"coupon": coupon, "totals": cart_totals(lines, coupon), "coupon_form": CouponApplyForm()}
