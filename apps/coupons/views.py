"""Applying a coupon code to the cart, and removing it (POST only; both go back to the cart)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from apps.coupons import services
from apps.coupons.exceptions import CouponError
from apps.coupons.forms import CouponApplyForm
from apps.coupons.session import session_coupon_apply, session_coupon_drop, session_coupon_id
from shop_project.marks import kept_as_is, sentence


@require_POST
def coupon_apply(request):
    form = CouponApplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["code"][0])
        return redirect("cart:cart_detail")
    try:
        coupon = services.coupon_find(code=form.cleaned_data["code"])
    except CouponError as error:
        messages.error(request, str(error))
        return redirect("cart:cart_detail")
    session_coupon_apply(request.session, coupon.id)
    messages.success(request, sentence(gettext("Coupon %(code)s applied: %(discount)s%% off your order."),
                                       code=kept_as_is(coupon.code), discount=coupon.discount))
    return redirect("cart:cart_detail")


@require_POST
def coupon_remove(request):
    if session_coupon_id(request.session) is not None:
        session_coupon_drop(request.session)
        messages.info(request, gettext("The coupon was removed from your cart."))
    return redirect("cart:cart_detail")
