"""The "bought together" lists: one query each, whatever the catalog's or the orders' size.

Only available products are listed. On the product page the list is part of the cached page
(apps.shop.catalog_cache): a visitor without a session sees counts up to CATALOG_CACHE_SECONDS
old (they only grow when a paid order is counted, which forgets no page), while a product made
unavailable leaves it at once, since saving it forgets this process's pages.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Sum

from apps.shop.models import Product
from apps.shop.translation import columns

SHOWN = 4


def bought_with_product(*, product_id: int, limit: int = SHOWN) -> list[Product]:
    """The products most often bought with this one."""
    return list(
        Product.objects.filter(available=True, bought_with__product_id=product_id)
        .exclude(id=product_id)
        .defer(*columns("description"))
        .order_by("-bought_with__count", "name_en", "id")[:limit]
    )


def bought_with_cart(*, product_ids: Iterable[int], limit: int = SHOWN) -> list[Product]:
    """The products most often bought with the cart's, added up over its lines, not in it."""
    product_ids = list(product_ids)
    if not product_ids:
        return []
    return list(
        Product.objects.filter(available=True, bought_with__product_id__in=product_ids)
        .exclude(id__in=product_ids)
        .defer(*columns("description"))
        .annotate(together=Sum("bought_with__count"))
        .order_by("-together", "name_en", "id")[:limit]
    )
