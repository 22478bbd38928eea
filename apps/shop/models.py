"""The catalog: categories and the products shoppers can buy."""

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

# Top-level paths owned by other apps. A category with one of these slugs would be unreachable,
# because `/<category_slug>/` is matched after them.
RESERVED_CATEGORY_SLUGS = frozenset({"admin", "cart", "orders", "coupons", "static", "media", "healthz"})


def validate_category_slug(value: str) -> None:
    if value in RESERVED_CATEGORY_SLUGS:
        raise ValidationError(
            "“%(slug)s” is used by another part of the shop; choose another slug.",
            params={"slug": value},
        )


class Category(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True, validators=[validate_category_slug])

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name"])]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("shop:product_list_by_category", args=[self.slug])


class Product(models.Model):
    category = models.ForeignKey(Category, related_name="products", on_delete=models.PROTECT)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    image = models.ImageField(upload_to="products/%Y/%m/%d", blank=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.PositiveIntegerField(default=0)
    available = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            # Detail pages look products up by id and slug together.
            models.Index(fields=["id", "slug"]),
            # List pages filter on availability (and category) and sort by name.
            models.Index(fields=["available", "name", "id"]),
            models.Index(fields=["category", "available", "name", "id"]),
            models.Index(fields=["-created"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("shop:product_detail", args=[self.id, self.slug])
