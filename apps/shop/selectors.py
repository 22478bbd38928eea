"""Reads of the catalog, shaped for the pages that show them."""

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet

from apps.shop.models import Category, Product

# The catalog pages read through the cache for CATALOG_CACHE_SECONDS: a change in the admin
# shows on the list and detail pages within that time. The cart and checkout always read the
# database, so a stale page can never sell what is gone (order_create checks the stock).


def category_list() -> list[Category]:
    return cache.get_or_set(
        "shop:categories", lambda: list(Category.objects.all()), settings.CATALOG_CACHE_SECONDS
    )


def available_products(*, category: Category | None = None) -> QuerySet[Product]:
    products = Product.objects.filter(available=True)
    if category is not None:
        products = products.filter(category=category)
    # The list shows no description: leave the largest column in the database.
    return products.defer("description")


def available_product(*, product_id: int, slug: str) -> Product | None:
    key = f"shop:product:{product_id}:{slug}"
    product = cache.get(key)
    if product is None:
        product = (
            Product.objects.select_related("category")
            .filter(id=product_id, slug=slug, available=True)
            .first()
        )
        # Only products found: unknown ids (a crawler's guesses) must not fill the cache.
        if product is not None:
            cache.set(key, product, settings.CATALOG_CACHE_SECONDS)
    return product
