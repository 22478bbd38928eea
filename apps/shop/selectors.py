"""Reads of the catalog, shaped for the pages that show them.

They always read the database; the catalog pages keep what they render in the catalog cache
(catalog_cache.py), the one place catalog data is cached.
"""

from django.db.models import QuerySet

from apps.shop.models import Category, Product
from apps.shop.translation import columns


def category_list() -> list[Category]:
    return list(Category.objects.all())


def available_products(*, category: Category | None = None) -> QuerySet[Product]:
    products = Product.objects.filter(available=True)
    if category is not None:
        products = products.filter(category=category)
    # The list shows no description: leave the largest columns in the database.
    return products.defer(*columns("description"))


def available_product(*, product_id: int) -> Product | None:
    """The product by its id alone: a slug in the URL only reads well (views.py redirects one
    that is not the product's in the active language)."""
    return Product.objects.select_related("category").filter(id=product_id, available=True).first()
