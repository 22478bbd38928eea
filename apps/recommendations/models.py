"""What was bought together: a count per ordered pair of products, kept in PostgreSQL.

Both directions of a pair are stored (A with B, and B with A), so that "bought with A" is one
index range scan of A's rows by count. No other server: the counts are ordinary rows.
"""

from django.db import models

from apps.orders.models import Order
from apps.shop.models import Product


class ProductPair(models.Model):
    product = models.ForeignKey(Product, related_name="pairs", on_delete=models.CASCADE)
    other = models.ForeignKey(Product, related_name="bought_with", on_delete=models.CASCADE)
    # How many paid orders held both.
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "other"], name="product_pair_unique"),
            models.CheckConstraint(
                condition=~models.Q(product=models.F("other")), name="product_pair_two_products"
            ),
        ]
        indexes = [models.Index(fields=["product", "-count"], name="product_pair_by_count")]

    def __str__(self):
        return f"{self.product_id} with {self.other_id}: {self.count}"


class CountedOrder(models.Model):
    """An order whose pairs are counted: a redelivered task finds it here and counts nothing."""

    order = models.OneToOneField(Order, primary_key=True, related_name="+", on_delete=models.CASCADE)
    counted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"order {self.order_id}"
