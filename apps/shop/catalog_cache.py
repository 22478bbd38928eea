"""The catalog cache: whole catalog pages as a visitor without a session sees them.

It is the only cache of catalog data, and it promises three things:
- a page is never served more than CATALOG_CACHE_SECONDS after the reads it shows began;
- after catalog_changed() this process serves no page made before the change;
- after catalog_stock_changed(ids) it serves none of those products' own pages made before it,
  nor a kept cart page holding one of them.
Each process keeps its own cache (a Lambda container, a gunicorn worker: LocMemCache, no server),
so another process shows a change within CATALOG_CACHE_SECONDS. catalog_changed() runs when a
Product or Category is saved or deleted (signals.py); checkout, which takes stock with queryset
updates (no signal), calls catalog_stock_changed(): only a product's own page and a cart page
holding it show its stock, so a sale leaves the lists and the other products' pages in the cache.

A page is kept once per language (the key names the active one: a Korean page is never served
to an English visitor); the generations are the same for all languages, so a change forgets both.

Shoppers with a session (a cart, notices, staff) always get catalog pages made from the
database: what they see next to their cart is current, and those pages never enter the cache.

The cart page reads its lines' products through catalog_products(), with the same promises per
product (at most CATALOG_CACHE_SECONDS old; none read before a change this process made to it, a
sale of it included), keyed by language like the pages since a product holds words. The
checkout page and the order read the database: a price or an availability that changed in
another process meanwhile is shown, and checked, there.
"""

import hashlib
import itertools
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from time import monotonic
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import get_language

from apps.recommendations.selectors import bought_with_cart
from apps.shop.models import Product
from apps.shop.translation import columns
from shop_project.page_copies import (
    CSRF_TOKEN_SLOT,
    page_context,
    page_copy,
    page_for_visitor,
    page_from_copy,
)

# Pages made before the latest change that concerns them carry an older number and are never
# served again. Each change takes a higher number than any before, for every page (_generation) or
# for some products' pages (at most one entry per product sold); a page's number is the higher of
# the two. Taken and stored under the lock, so neither ever goes back.
_generations = itertools.count(1)
_generation = 0
_product_generations: dict[int, int] = {}
_changing = threading.Lock()
# While catalog_cart_page() builds a page (_reads_timed): the time of the oldest read it shows
# ([made_at]), which the entries read from the cache lower. Per thread and task, as requests are.
_oldest_read: ContextVar[list[float] | None] = ContextVar("catalog_oldest_read", default=None)


class CatalogPage(NamedTuple):
    template_name: str
    context: dict[str, Any]
    # False for pages anybody can make up (page numbers past the end): they would fill the cache.
    cacheable: bool = True


class _Entry(NamedTuple):
    generation: int
    made_at: float
    content: Any  # a page's HTML, or a product


def serve(
    request, key: str, build: Callable[[], CatalogPage], *, product_id: int | None = None
) -> HttpResponse:
    """The page `key` names: from the cache for a visitor without a session, else from build().

    build() reads the database and returns what to render; a 404 it raises is never cached.
    `product_id` names the product whose stock the page shows (its own page).
    """
    if _is_personal(request):
        page = build()
        # Made from the database as always, rendered once per content (shop_project.page_copies:
        # the page is shared only with requests whose pages would be the same).
        return page_from_copy(request, page.template_name, page.context)
    key = f"shop:page:{get_language()}:{key}"
    entry = cache.get(key)
    if entry is not None and _is_fresh(entry, product_id):
        html = entry.content
    else:
        # Taken before the reads: a change that lands during them makes this page old already.
        generation, made_at = _page_generation(product_id), monotonic()
        page = build()
        html = render_to_string(page.template_name, {**page.context, "csrf_token": CSRF_TOKEN_SLOT})
        if page.cacheable and settings.CATALOG_CACHE_SECONDS > 0:
            cache.set(key, _Entry(generation, made_at, html), settings.CATALOG_CACHE_SECONDS)
    return page_for_visitor(request, html)


def catalog_products(product_ids: Iterable[int]) -> dict[int, Product]:
    """The products with these ids (without their descriptions), by id; deleted ones are absent.

    From this process's cache where it holds a fresh copy, the others in one query (none when
    every one is fresh), so that a cart page costs its lines no query once its products were read.
    """
    language = get_language()
    keys = {f"shop:product:{language}:{product_id}": product_id for product_id in product_ids}
    cached = cache.get_many(list(keys)).items()
    fresh = {keys[key]: entry for key, entry in cached if _is_fresh(entry, keys[key])}
    _report_read_times(entry.made_at for entry in fresh.values())
    products = {product_id: entry.content for product_id, entry in fresh.items()}
    missing = [product_id for product_id in keys.values() if product_id not in products]
    if not missing:
        return products
    # Taken before the read, as for a page: a change that lands during it makes the copy old.
    generations, made_at = {product_id: _page_generation(product_id) for product_id in missing}, monotonic()
    read = {p.id: p for p in Product.objects.filter(id__in=missing).defer(*columns("description")).order_by()}
    if settings.CATALOG_CACHE_SECONDS > 0:
        entries = {f"shop:product:{language}:{product_id}": _Entry(generations[product_id], made_at, product)
                   for product_id, product in read.items()}
        cache.set_many(entries, settings.CATALOG_CACHE_SECONDS)
    return {**products, **read}


def catalog_bought_together(product_ids: Iterable[int]) -> list[Product]:
    """bought_with_cart(product_ids=...) through the cache: what was bought with these products.

    Keyed by the ids in the cart's order (the selector reads the first lines' partners). Counts
    only grow when a paid order is counted, which forgets nothing, as on a cached product page; a
    partner made unavailable, renamed or repriced in this process is forgotten with every page.
    """
    product_ids = list(dict.fromkeys(product_ids))
    if not product_ids:
        return []
    # Hashed: a cart of hundreds of lines would make a key longer than caches accept.
    ids = hashlib.blake2b(",".join(map(str, product_ids)).encode(), digest_size=16).hexdigest()
    # No language in the key: the products hold every language's columns (not the descriptions).
    key = f"shop:bought-together:{ids}"
    entry = cache.get(key)
    if entry is not None and _is_fresh(entry, None):
        _report_read_times([entry.made_at])
        return entry.content
    generation, made_at = _page_generation(None), monotonic()
    products = bought_with_cart(product_ids=product_ids)
    if settings.CATALOG_CACHE_SECONDS > 0:
        cache.set(key, _Entry(generation, made_at, products), settings.CATALOG_CACHE_SECONDS)
    return products


def catalog_cart_page(
    request, contents: dict[int, int] | None, build: Callable[[], CatalogPage]
) -> HttpResponse:
    """The cart page for `contents` ({product id: quantity}, the lines in their order), from the
    copy kept for them in this language when it is fresh, else made from build().

    build() may read only through this cache (catalog_products, catalog_bought_together) and the
    contents: the copy then holds the promises of those reads, never served more than
    CATALOG_CACHE_SECONDS after the oldest of them began, nor after a change this process made
    to any product or a sale of one of the lines. `contents` None means the page shows more than
    that (an applied coupon, whose uses change in every process): it is made every time, and so
    is a page with notices. The HTML is shared (shop_project.page_copies): the same cart's page
    serves every shopper holding it, each with their own CSRF token and path.
    """
    keep = bool(contents) and settings.CATALOG_CACHE_SECONDS > 0 and not len(messages.get_messages(request))
    product_ids = list(contents) if keep else []
    if keep:
        contents_digest = hashlib.blake2b(repr(list(contents.items())).encode(), digest_size=16).hexdigest()
        key = f"shop:cart-page:{get_language()}:{contents_digest}"
        entry = cache.get(key)
        if entry is not None and _is_fresh(entry, *product_ids):
            return page_for_visitor(request, entry.content)
    # Taken before the reads, as for a page; the reads lower made_at to the oldest they show.
    generation = _page_generation(*product_ids)
    with _reads_timed() as oldest:
        page = build()
    context = page_context(request, page.context)
    # Kept here, it need not also be kept by its context (page_copy's own copy).
    html = page_copy(request, page.template_name, context, keep=not keep)
    if html is None:  # the page has notices, or shows what a copy cannot be keyed by
        return render(request, page.template_name, context)
    if keep:
        cache.set(key, _Entry(generation, oldest[0], html), settings.CATALOG_CACHE_SECONDS)
    return page_for_visitor(request, html)


def catalog_changed() -> None:
    """Call after writing products, prices, stock or categories: this process forgets its pages.

    At once, and again when the transaction commits: until then other requests of this process
    still read the data as it was and may cache what they saw.
    """
    _forget_pages()
    transaction.on_commit(_forget_pages)


def catalog_stock_changed(product_ids: Iterable[int]) -> None:
    """Call after changing only these products' stock: this process forgets their own pages.

    No other page shows stock, so the rest stay. At once and again on commit, as catalog_changed().
    """
    product_ids = list(product_ids)
    _forget_pages(product_ids)
    transaction.on_commit(lambda: _forget_pages(product_ids))


def _forget_pages(product_ids: list[int] | None = None) -> None:
    """Every page, or only the pages of these products."""
    global _generation
    with _changing:
        generation = next(_generations)
        if product_ids is None:
            _generation = generation
        else:
            _product_generations.update(dict.fromkeys(product_ids, generation))


def _page_generation(*product_ids: int | None) -> int:
    """The number of a page showing these products' stock (None: none), made now."""
    return max([_generation, *(_product_generations.get(product_id, 0) for product_id in product_ids)])


def _is_fresh(entry: _Entry, *product_ids: int | None) -> bool:
    # The cache's own timeout frees the memory; this check is the promise, on a clock that
    # never jumps.
    return (entry.generation == _page_generation(*product_ids)
            and monotonic() - entry.made_at < settings.CATALOG_CACHE_SECONDS)


@contextmanager
def _reads_timed():
    """While a page is made: [the time of the oldest read it shows], which starts as now and which
    the cache's reads lower to the entries they use (_report_read_times)."""
    oldest = [monotonic()]
    token = _oldest_read.set(oldest)
    try:
        yield oldest
    finally:
        _oldest_read.reset(token)


def _report_read_times(made_at: Iterable[float]) -> None:
    """The page being made (_reads_timed) shows cache entries read at these times."""
    oldest = _oldest_read.get()
    if oldest is not None:
        oldest[0] = min([oldest[0], *made_at])


def _is_personal(request) -> bool:
    """Whether the page may differ from an anonymous first visit's (cart, notices, user)."""
    return settings.SESSION_COOKIE_NAME in request.COOKIES or "messages" in request.COOKIES
