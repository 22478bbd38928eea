"""Catalog pages: the product list (all or one category) and a product's detail."""

import functools

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers

from apps.cart.forms import CartAddProductForm
from apps.shop import selectors


def product_list(request, category_slug=None):
    page_number = request.GET.get("page", "")
    page_number = page_number if page_number.isdigit() else "1"
    # The catalog part of the page is the same for every shopper: rendered once per page and
    # CATALOG_CACHE_SECONDS, with the category's name for the title; a hit needs no database
    # and no model from the cache. Only the header (cart, messages) is rendered per request.
    key = f"shop:catalog:{category_slug or ''}:{page_number}"
    cached = cache.get(key)
    if cached is None:
        categories = selectors.category_list()
        category = None
        if category_slug is not None:
            # Picked from the list the sidebar needs anyway, which saves the page a query.
            category = next((c for c in categories if c.slug == category_slug), None)
            if category is None:
                raise Http404("No such category.")
        products = selectors.available_products(category=category)
        page = Paginator(products, settings.PRODUCTS_PER_PAGE).get_page(page_number)
        catalog = render_to_string(
            "shop/includes/catalog.html",
            {"category": category, "categories": categories, "page": page, "products": page.object_list},
        )
        cached = (category.name if category else None, catalog)
        # Only pages that exist: made-up page numbers (a crawler's) must not fill the cache.
        if str(page.number) == page_number:
            cache.set(key, cached, settings.CATALOG_CACHE_SECONDS)
    category_name, catalog = cached
    context = {"category_name": category_name, "catalog": catalog}
    return render(request, "shop/product/list.html", context)


# Stands in for the CSRF token in a cached page; never a real token (those are alphanumeric).
_CSRF_TOKEN_SLOT = "{csrf-token}"  # nosec B105 - a slot for the real token, not a secret


def product_detail(request, id, slug):
    product = selectors.available_product(product_id=id, slug=slug)
    if product is None:
        raise Http404("No such product.")
    context = {"product": product, "cart_product_form": _blank_cart_add_form()}
    if _has_session_or_messages(request):
        return render(request, "shop/product/detail.html", context)
    # A visitor with no session (most arrive from a search or a link) sees the same page as any
    # other: rendered once per product and CATALOG_CACHE_SECONDS, with their own CSRF token put
    # in (get_token also sets the CSRF cookie). A shopper with a cart gets the page rendered.
    key = f"shop:product-page:{product.id}:{product.updated.timestamp()}"
    page = cache.get(key)
    if page is None:
        page = render_to_string("shop/product/detail.html", {**context, "csrf_token": _CSRF_TOKEN_SLOT})
        cache.set(key, page, settings.CATALOG_CACHE_SECONDS)
    response = HttpResponse(page.replace(_CSRF_TOKEN_SLOT, get_token(request)))
    patch_vary_headers(response, ["Cookie"])
    return response


def _has_session_or_messages(request) -> bool:
    """Whether the page may differ from an anonymous first visit's (cart, notices, user)."""
    return settings.SESSION_COOKIE_NAME in request.COOKIES or "messages" in request.COOKIES


@functools.cache
def _blank_cart_add_form() -> str:
    # The same HTML on every product page (the CSRF token is outside it); rendering its
    # 20-option select through the form templates cost more than the rest of the page.
    return CartAddProductForm().render()
