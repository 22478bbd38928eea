"""The "bought together" lists: one query each, whose cost is bounded however many pairs there are.

Each product's PARTNERS_READ most frequent partners are read (an index range scan of its pairs by
count, stopped there), added up over the products asked about, and the best SHOWN of those
listed, ties by name. A product outside every line's PARTNERS_READ partners is not listed even
if its sum over the lines would rank it: the price of a read that does not grow with the pairs.
Ties at the PARTNERS_READ cut are broken by the index, not by name.

Only available products are listed. On the product page the list is part of the cached page
(apps.shop.catalog_cache): a visitor without a session sees counts up to CATALOG_CACHE_SECONDS
old (they only grow when a paid order is counted, which forgets no page), while a product made
unavailable leaves it at once, since saving it forgets this process's pages.
"""

from __future__ import annotations

from collections.abc import Iterable

from apps.recommendations.models import ProductPair
from apps.shop.models import Product

SHOWN = 4
# Partners read per product: enough that the 4 shown are those of the summed counts for any cart
# whose lines share partners; the bound on the rows one list reads.
PARTNERS_READ = 20
# Cart lines whose partners are read (the first added): a cart of hundreds of lines, which a
# script can fill, must not make a query of hundreds of subqueries.
LINES_READ = 20


def bought_with_product(*, product_id: int, limit: int = SHOWN) -> list[Product]:
    """The products most often bought with this one."""
    return bought_with_cart(product_ids=[product_id], limit=limit)


def bought_with_cart(*, product_ids: Iterable[int], limit: int = SHOWN) -> list[Product]:
    """The products most often bought with the cart's, added up over its lines, not in it."""
    product_ids = list(dict.fromkeys(product_ids))
    if not product_ids:
        return []
    return list(Product.objects.raw(*_bought_with_query(product_ids, limit)))


def _bought_with_query(product_ids: list[int], limit: int) -> tuple[str, list]:
    """Each line's top partners (available, not in the cart), summed per partner, the best first.

    One subquery a line, each with its product's id as a literal (psycopg binds on the client):
    the planner then sees how many pairs that product has and reads them in the index's order
    (product_pair_by_count), stopping after PARTNERS_READ; a VALUES list or an array of the ids
    would be planned for the average product, with a sort of all of a busy one's pairs. The
    subqueries are wrapped in SELECT * FROM (...), the form SQLite accepts too.
    """
    product, pair = Product._meta.db_table, ProductPair._meta.db_table
    # Every column but the description(s), which no list shows; the model loads them if read.
    columns = ", ".join(f'p."{field.column}"' for field in Product._meta.concrete_fields
                        if not field.name.startswith("description"))
    read = product_ids[:LINES_READ]
    lines_read = ", ".join(["%s"] * len(read))
    line = f"""SELECT * FROM (
            SELECT pair.other_id, pair.count
            FROM "{pair}" pair JOIN "{product}" other ON other.id = pair.other_id
            WHERE pair.product_id = %s AND other.available AND pair.other_id NOT IN ({lines_read})
            ORDER BY pair.count DESC
            LIMIT %s) AS line_{{}}"""
    lines = " UNION ALL ".join(line.format(i) for i in range(len(read)))
    # The lines not read are left out once, here: the query grows with the cart, not its square.
    in_cart = ", ".join(["%s"] * len(product_ids))
    sql = f"""
        SELECT {columns}, SUM(top.count) AS together
        FROM ({lines}) AS top
        JOIN "{product}" p ON p.id = top.other_id
        WHERE p.id NOT IN ({in_cart})
        GROUP BY p.id
        ORDER BY together DESC, p.name_en, p.id
        LIMIT %s"""
    params = [value for product_id in read for value in (product_id, *read, PARTNERS_READ)]
    return sql, [*params, *product_ids, limit]
