"""Catalog pages: the product list (all or one category) and a product's detail.

Both are served through the catalog cache (catalog_cache.py): each view names its page and
says how to build it from the database.
"""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404

from apps.recommendations.selectors import bought_with_product
from apps.shop import catalog_cache, selectors
from apps.shop.catalog_cache import CatalogPage


def product_list(request, category_slug=None):
    page_number = request.GET.get("page", "")
    page_number = page_number if page_number.isdigit() else "1"
    return catalog_cache.serve(
        request,
        f"list:{category_slug or ''}:{page_number}",
        lambda: _list_page(category_slug=category_slug, page_number=page_number),
    )


def _list_page(*, category_slug: str | None, page_number: str) -> CatalogPage:
    categories = selectors.category_list()
    category = None
    if category_slug is not None:
        # Picked from the list the sidebar needs anyway, which saves the page a query.
        category = next((c for c in categories if c.slug == category_slug), None)
        if category is None:
            raise Http404("No such category.")
    products = selectors.available_products(category=category)
    page = Paginator(products, settings.PRODUCTS_PER_PAGE).get_page(page_number)
    context = {"category": category, "categories": categories, "page": page, "products": page.object_list}
    # A page number past the end shows the last page; only the real number's page is kept.
    return CatalogPage("shop/product/list.html", context, cacheable=str(page.number) == page_number)


def product_detail(request, id, slug):
    return catalog_cache.serve(
        request, f"product:{id}:{slug}", lambda: _detail_page(product_id=id, slug=slug), product_id=id
    )


def _detail_page(*, product_id: int, slug: str) -> CatalogPage:
    product = selectors.available_product(product_id=product_id, slug=slug)
    if product is None:
        raise Http404("No such product.")
    # Cached with the page: as fresh as it (apps.recommendations.selectors says how fresh).
    bought_together = bought_with_product(product_id=product.id)
    return CatalogPage("shop/product/detail.html", {"product": product, "bought_together": bought_together})
