"""Checkout (form, then the order) and the thank-you page."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext

from apps.cart.cart import Cart
from apps.cart.page import cart_lines_for_page
from apps.coupons.page import cart_totals, coupon_for_page
from apps.coupons.session import session_coupon_id
from apps.orders import services
from apps.orders.exceptions import CheckoutError, EmptyCartError
from apps.orders.forms import OrderCreateForm
from apps.orders.placed_orders import cart_settle, order_placed_by_session, session_reference
from apps.orders.shown import ShownCheckout


def order_create(request):
    cart = Cart(request.session)
    if request.method == "POST":
        if not cart.quantities():
            messages.info(request, gettext("Your cart is empty."))
            return redirect("cart:cart_detail")
        form = OrderCreateForm(request.POST)
        if form.is_valid():
            if cart.token is None:
                cart.drop([])  # a damaged session's cart: give it the token its order will consume
            try:
                order = services.order_create(
                    quantities=cart.quantities(),
                    cart_token=cart.token,
                    earlier_cart_tokens=cart.earlier_tokens,
                    customer=form.customer(),
                    shown=form.shown_checkout(),
                    coupon_id=session_coupon_id(request.session),
                    session_ref=session_reference(request.session),
                    language=request.LANGUAGE_CODE,  # set by LocaleMiddleware
                )
            except EmptyCartError as error:
                messages.info(request, str(error))
                return redirect("cart:cart_detail")
            except CheckoutError as error:
                form.add_error(None, str(error))
            else:
                # Nothing is written to the session here (see placed_orders): the payment
                # page finds the order through the cart token it consumed.
                return _to_payment(order.id)
    else:
        form = OrderCreateForm()
    # The lines the page shows: without what an order already holds, nor what cannot be bought.
    ordered = []
    if len(cart):
        cart, ordered = cart_settle(session=request.session)
    lines = cart_lines_for_page(request, cart)
    if not lines and ordered:
        # Everything in the cart was ordered (its payment page was never shown, or another
        # tab placed it): that order is what the shopper is looking for.
        return _to_payment(ordered[-1].order_id)
    for order in ordered:
        messages.warning(request, gettext(
            "Your order %(number)s already holds part of what your cart held; those units left your cart."
        ) % {"number": order.order_id})
    if not lines:
        messages.info(request, gettext("Your cart is empty."))
        return redirect("cart:cart_detail")
    # A coupon that can no longer be used leaves the cart here, with a notice: the page shows,
    # and signs, the total the order would get.
    coupon = coupon_for_page(request)
    form.show(ShownCheckout.of(lines, coupon))
    context = {"cart": cart, "form": form, "coupon": coupon, "totals": cart_totals(lines, coupon)}
    return render(request, "orders/order/create.html", context)


def _to_payment(order_id: int):
    # The payment page shows the order and its card form, or says it is paid already.
    return redirect(f"{reverse('payment:process')}?order={order_id}")


def order_created(request, order_id):
    # The cart is settled first: its token may be how this session knows it placed the order.
    cart_settle(session=request.session)
    order = order_placed_by_session(session=request.session, order_id=order_id)
    if order is None:
        raise Http404("No such order.")
    return render(request, "orders/order/created.html", {"order": order})

