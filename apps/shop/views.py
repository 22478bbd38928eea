"""Catalog pages: the product list (all or one category) and a product's detail."""

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers

from apps.shop import selectors


def product_list(request, category_slug=None):
    page_number = request.GET.get("page", "")
    page_number = page_number if page_number.isdigit() else "1"
    # A visitor with no session gets the whole page from the cache (see product_detail).
    first_visit = not _has_session_or_messages(request)
    page_key = f"shop:list-page:{category_slug or ''}:{page_number}"
    if first_visit and (html := cache.get(page_key)) is not None:
        return _shared_page(request, html)
    category_name, catalog, cacheable = _catalog_block(category_slug=category_slug, page_number=page_number)
    context = {"category_name": category_name, "catalog": catalog}
    if not first_visit:
        return render(request, "shop/product/list.html", context)
    html = render_to_string("shop/product/list.html", context)
    if cacheable:
        cache.set(page_key, html, settings.CATALOG_CACHE_SECONDS)
    return _shared_page(request, html)


def _catalog_block(*, category_slug: str | None, page_number: str) -> tuple[str | None, str, bool]:
    """The catalog part of a list page (sidebar, products, pagination), the category's name, and
    whether the page may be cached.

    The same for every shopper, so rendered once per page and CATALOG_CACHE_SECONDS: a hit needs
    no database. Only pages that exist are cached: made-up page numbers (a crawler's) must not
    fill the cache.
    """
    key = f"shop:catalog:{category_slug or ''}:{page_number}"
    if (cached := cache.get(key)) is not None:
        return (*cached, True)
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
    category_name = category.name if category else None
    cacheable = str(page.number) == page_number
    if cacheable:
        cache.set(key, (category_name, catalog), settings.CATALOG_CACHE_SECONDS)
    return category_name, catalog, cacheable


# Stands in for the CSRF token in a cached page; never a real token (those are alphanumeric).
_CSRF_TOKEN_SLOT = "{csrf-token}"  # nosec B105 - a slot for the real token, not a secret


def product_detail(request, id, slug):
    # A visitor with no session (most arrive from a search or a link) sees the same page as any
    # other: rendered once per product and CATALOG_CACHE_SECONDS, with their own CSRF token put
    # in (get_token also sets the CSRF cookie). A shopper with a cart gets the page rendered.
    first_visit = not _has_session_or_messages(request)
    page_key = f"shop:product-page:{id}:{slug}"
    if first_visit and (page := cache.get(page_key)) is not None:
        return _shared_page(request, page)
    product = selectors.available_product(product_id=id, slug=slug)
    if product is None:
        raise Http404("No such product.")
    context = {"product": product}
    if not first_visit:
        return render(request, "shop/product/detail.html", context)
    page = render_to_string("shop/product/detail.html", {**context, "csrf_token": _CSRF_TOKEN_SLOT})
    cache.set(page_key, page, settings.CATALOG_CACHE_SECONDS)
    return _shared_page(request, page)


def _shared_page(request, page: str) -> HttpResponse:
    """A page cached for every first visitor, with this visitor's CSRF token where it has a form."""
    if _CSRF_TOKEN_SLOT in page:
        page = page.replace(_CSRF_TOKEN_SLOT, get_token(request))
    response = HttpResponse(page)
    patch_vary_headers(response, ["Cookie"])
    return response


def _has_session_or_messages(request) -> bool:
    """Whether the page may differ from an anonymous first visit's (cart, notices, user)."""
    return settings.SESSION_COOKIE_NAME in request.COOKIES or "messages" in request.COOKIES

