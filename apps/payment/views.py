"""The shopper's payment pages: the card form (process), the outcome (completed), and canceled;
and the card form's JSON endpoint (setup), which gives it a SetupIntent when the card is submitted.

Which order: `?order=<id>`, else the one this session placed last; either way only an order
this session placed (apps/orders/placed_orders.py, as the thank-you page finds it: through the
cart's tokens, checkout having written nothing to the session). Any other gets a 404.

The flow itself (the order's one PaymentIntent made by the page, a SetupIntent asked for and
confirmed in the page on submit, then the PaymentIntent confirmed here) is described in
apps/payment/intents.py. No `stripe` import here: every web process imports the views at start.
"""

import re
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_safe

from apps.orders.models import Order, OrderStatus
from apps.orders.placed_orders import (
    cart_settle,
    latest_order_placed_by_session,
    order_placed_by_session,
    placed_by_session,
)
from apps.payment import intents
from apps.payment.forms import PaymentMethodForm

_ORDER_ID = re.compile(r"[0-9]{1,18}")


def _order_id_asked(request) -> int | None:
    """The order the request names (`?order=`, else the session's last), not yet checked."""
    # The cart is settled first: its token may be how this session knows it placed the order.
    cart_settle(session=request.session)
    raw = request.GET.get("order")
    if raw is None:
        return latest_order_placed_by_session(session=request.session)
    return int(raw) if _ORDER_ID.fullmatch(raw) else None


def _shopper_order(request) -> Order:
    """The order the page is about, if this session placed it; else 404."""
    order_id = _order_id_asked(request)
    order = None if order_id is None else order_placed_by_session(session=request.session, order_id=order_id)
    if order is None:
        raise Http404("No such order.")
    return order


def _url(name: str, order: Order) -> str:
    return f"{reverse(name)}?order={order.id}"


def _unavailable(request, order: Order, error: intents.PaymentError):
    return render(request, "payment/unavailable.html", {"order": order, "error": str(error)}, status=503)


@require_http_methods(["GET", "POST"])
def payment_process(request):
    order = _shopper_order(request)
    if request.method == "POST":
        return _pay(request, order)
    context = {"order": order, "currency": settings.SHOP_CURRENCY}
    if order.status != OrderStatus.AWAITING_PAYMENT:
        context["not_payable"] = order.status
        return render(request, "payment/process.html", context)
    try:
        intent = intents.payment_start(order=order)
    except intents.OrderNotPayableError as error:
        context["not_payable"] = error.status
    except intents.PaymentProviderError as error:
        return _unavailable(request, order, error)
    else:
        context.update(
            intent=intent,
            setup_url=_url("payment:setup", order),
            stripe_js_url=settings.STRIPE_JS_URL,
            stripe_publishable_key=settings.STRIPE_PUBLISHABLE_KEY,
            completed_url=_url("payment:completed", order),
            canceled_url=_url("payment:canceled", order),
        )
    return render(request, "payment/process.html", context)


def _pay(request, order: Order):
    form = PaymentMethodForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["payment_method"][0])
        return redirect(_url("payment:process", order))
    try:
        state = intents.payment_confirm(order_id=order.id, payment_method=form.cleaned_data["payment_method"])
    except intents.CardNotUsableError as error:
        messages.error(request, gettext("%(error)s Please try another card.") % {"error": error})
        return redirect(_url("payment:process", order))
    except intents.OrderNotPayableError:
        return redirect(_url("payment:process", order))  # which says why
    except intents.PaymentProviderError as error:
        return _unavailable(request, order, error)
    if state.outcome == "action":
        # 3-D Secure: the payment page completes it in the browser, then comes to completed.
        return redirect(_url("payment:process", order))
    return redirect(_url("payment:completed", order))


def payment_setup(request):
    """POST: a SetupIntent for the card the shopper submits, as JSON `{"client_secret": …}`.

    Asked for by the card form's script (CSRF token in its header) on submit, not by the page
    load, so that a page that is only looked at makes one Stripe call. Any refusal is JSON with
    `error`, a message the form shows: 404 for an order this session did not place, 409 for one
    that is no longer awaiting payment (the script then reloads the page, which says why), 503
    when Stripe fails.
    """
    if request.method != "POST":
        response = JsonResponse({"error": gettext("Send the card form to set up a card.")}, status=405)
        response["Allow"] = "POST"
        return response
    order_id = _order_id_asked(request)
    if order_id is None or not placed_by_session(session=request.session, order_id=order_id):
        return JsonResponse({"error": gettext("No such order.")}, status=404)
    try:
        client_secret = intents.card_setup(order_id=order_id)
    except intents.OrderNotPayableError:
        return JsonResponse({"error": gettext("This order can no longer be paid.")}, status=409)
    except intents.PaymentProviderError as error:
        return JsonResponse({"error": str(error)}, status=503)
    return JsonResponse({"client_secret": client_secret})


@require_safe
def payment_completed(request):
    order = _shopper_order(request)
    try:
        state = intents.payment_state(order_id=order.id)
    except intents.PaymentProviderError as error:
        return _unavailable(request, order, error)
    if state is None or state.outcome in ("card", "action"):
        return redirect(_url("payment:process", order))  # nothing was tried yet, or 3-D Secure is due
    return render(request, "payment/completed.html", {
        "order": order, "state": state, "process_url": _url("payment:process", order),
    })


@require_safe
def payment_canceled(request):
    order = _shopper_order(request)
    expires = order.created + timedelta(minutes=settings.SHOP_PAYMENT_TIMEOUT_MINUTES)
    return render(request, "payment/canceled.html", {
        "order": order, "expires": expires, "process_url": _url("payment:process", order),
        "awaiting_payment": order.status == OrderStatus.AWAITING_PAYMENT,
    })
