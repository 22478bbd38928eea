"""The cart page and the two POST actions that change it."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from apps.cart.cart import Cart
from apps.cart.forms import CartAddProductForm
from apps.cart.page import cart_lines_for_page
from apps.coupons.page import cart_page_coupon
from apps.coupons.session import COUPON_SESSION_KEY
from apps.shop.catalog_cache import CatalogPage, catalog_bought_together, catalog_cart_page, catalog_products
from apps.shop.models import Product
from shop_project.marks import product_text, sentence


@require_POST
def cart_add(request, product_id):
    product = get_object_or_404(Product, id=product_id, available=True)
    form = CartAddProductForm(request.POST)
    if not form.is_valid():
        most = settings.CART_MAX_QUANTITY_PER_PRODUCT
        messages.error(request, gettext("Choose a quantity from 1 to %(most)d.") % {"most": most})
        return redirect(product.get_absolute_url())
    wanted = form.cleaned_data["quantity"]
    override = form.cleaned_data["override"]
    held = Cart(request.session).add(product=product, quantity=wanted, override_quantity=override)
    if not override and held == settings.CART_MAX_QUANTITY_PER_PRODUCT:
        text = ngettext("Your cart holds %(count)d of %(name)s, the most one order can take.",
                        "Your cart holds %(count)d of %(name)s, the most one order can take.", held)
        messages.info(request, sentence(text, count=held, name=product_text(product.name)))
    elif override:
        text = ngettext("Your cart now holds %(count)d of %(name)s.",
                        "Your cart now holds %(count)d of %(name)s.", held)
        messages.success(request, sentence(text, count=held, name=product_text(product.name)))
    else:
        text = ngettext("Added %(count)d of %(name)s to your cart.",
                        "Added %(count)d of %(name)s to your cart.", wanted)
        messages.success(request, sentence(text, count=wanted, name=product_text(product.name)))
    return redirect("cart:cart_detail")


@require_POST
def cart_remove(request, product_id):
    Cart(request.session).remove(product_id)
    return redirect("cart:cart_detail")


def cart_detail(request):
    # The lines' products from the catalog cache (its freshness); checkout reads the database.
    # Its lines are read only inside _cart_page, where catalog_cart_page sees how old the reads are.
    cart = Cart(request.session, products=catalog_products)
    # Kept whole by its contents, unless it shows more than its lines: an applied coupon (its uses
    # change in every process), or a damaged session value, which the page rewrites.
    contents = None if cart.damaged or COUPON_SESSION_KEY in request.session else cart.quantities()
    return catalog_cart_page(request, contents, lambda: _cart_page(request, cart))


def _cart_page(request, cart: Cart) -> CatalogPage:
    # Each line's quantity form is rendered by {% cart_quantity_fields %}, once per process.
    lines = cart_lines_for_page(request, cart)
    # The coupon box and totals (a query when a coupon is applied), and what was bought with the
    # cart's products (through the catalog cache: a query when it holds no fresh list for them).
    extras = {**cart_page_coupon(request, lines),
              "bought_together": catalog_bought_together(line.product.id for line in lines)}
    return CatalogPage("cart/detail.html", {"cart": cart, "lines": lines, **extras})
