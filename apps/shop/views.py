"""Catalog pages: the product list (all or one category) and a product's detail.

Both are served through the catalog cache (catalog_cache.py): each view names its page and
says how to build it from the database. A page asked for by a slug that is not its slug in the
active language (the other language's, or one staff have since changed) is redirected to its
own URL (`_moved_unless_canonical`, the one place for that rule): a 302, not a 301, because a
slug staff change and change back would leave browsers looping on a remembered permanent move.
"""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect

from apps.recommendations.selectors import bought_with_product
from apps.shop import catalog_cache, selectors
from apps.shop.catalog_cache import CatalogPage
from apps.shop.models import Category, Product


class _Moved(Exception):
    def __init__(self, url: str):
        super().__init__(url)
        self.url = url


def _moved_unless_canonical(item: Category | Product, slug: str, *, query: str = "") -> None:
    """Raise _Moved to the item's URL in the active language unless `slug` is its slug there."""
    if slug != item.slug:
        raise _Moved(item.get_absolute_url() + query)


def product_list(request, category_slug=None):
    page_number = request.GET.get("page", "")
    page_number = page_number if page_number.isdigit() else "1"
    try:
        return catalog_cache.serve(
            request,
            f"list:{category_slug or ''}:{page_number}",
            lambda: _list_page(category_slug=category_slug, page_number=page_number),
        )
    except _Moved as moved:
        return HttpResponseRedirect(moved.url)


def _list_page(*, category_slug: str | None, page_number: str) -> CatalogPage:
    categories = selectors.category_list()
    category = None
    if category_slug is not None:
        # Picked from the list the sidebar needs anyway, which saves the page a query; its slug
        # in the active language first, then in any language (which moves the page there).
        category = next((c for c in categories if c.slug == category_slug), None) or next(
            (c for c in categories if category_slug in (c.slug_en, c.slug_ko)), None
        )
        if category is None:
            raise Http404("No such category.")
        _moved_unless_canonical(category, category_slug,
                                query="" if page_number == "1" else f"?page={page_number}")
    products = selectors.available_products(category=category)
    page = Paginator(products, settings.PRODUCTS_PER_PAGE).get_page(page_number)
    context = {"category": category, "categories": categories, "page": page, "products": page.object_list}
    # A page number past the end shows the last page; only the real number's page is kept.
    return CatalogPage("shop/product/list.html", context, cacheable=str(page.number) == page_number)


def product_detail(request, id, slug):
    try:
        return catalog_cache.serve(
            request, f"product:{id}:{slug}", lambda: _detail_page(product_id=id, slug=slug), product_id=id
        )
    except _Moved as moved:
        return HttpResponseRedirect(moved.url)


def _detail_page(*, product_id: int, slug: str) -> CatalogPage:
    product = selectors.available_product(product_id=product_id)
    if product is None:
        raise Http404("No such product.")
    _moved_unless_canonical(product, slug)
    # Cached with the page: as fresh as it (apps.recommendations.selectors says how fresh).
    bought_together = bought_with_product(product_id=product.id)
    return CatalogPage("shop/product/detail.html", {"product": product, "bought_together": bought_together})
