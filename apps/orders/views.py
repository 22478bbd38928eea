"""Checkout (form, then the order) and the thank-you page."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from apps.cart.cart import Cart
from apps.orders import services
from apps.orders.forms import OrderCreateForm
from apps.orders.placed_orders import order_placed_by_session, remember_placed_order


def order_create(request):
    cart = Cart(request)
    if request.method == "POST":
        form = OrderCreateForm(request.POST)
        if not cart.quantities():
            messages.info(request, "Your cart is empty.")
            return redirect("cart:cart_detail")
        if form.is_valid():
            try:
                order = services.order_create(cart=cart, customer=services.Customer(**form.cleaned_data))
            except services.EmptyCartError as error:
                messages.info(request, str(error))
                return redirect("cart:cart_detail")
            except services.CheckoutError as error:
                form.add_error(None, str(error))
            else:
                remember_placed_order(session=request.session, order=order)
                return redirect("orders:order_created", order_id=order.id)
    else:
        if not cart.lines():
            messages.info(request, "Your cart is empty.")
            return redirect("cart:cart_detail")
        form = OrderCreateForm()
    return render(request, "orders/order/create.html", {"cart": cart, "form": form})


def order_created(request, order_id):
    order = order_placed_by_session(session=request.session, order_id=order_id)
    if order is None:
        raise Http404("No such order.")
    return render(request, "orders/order/created.html", {"order": order})

