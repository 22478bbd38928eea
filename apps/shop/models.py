"""The catalog: categories and the products shoppers can buy, their text in English and Korean."""

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from apps.shop.translation import translated

# Top-level paths owned by other apps. A category with one of these slugs would be unreachable,
# because `/<category_slug>/` is matched after them.
RESERVED_CATEGORY_SLUGS = frozenset(
    {"admin", "cart", "orders", "coupons", "payment", "static", "media", "healthz"}
)


def validate_category_slug(value: str) -> None:
    if value in RESERVED_CATEGORY_SLUGS:
        raise ValidationError(
            "“%(slug)s” is used by another part of the shop; choose another slug.",
            params={"slug": value},
        )


class Category(models.Model):
    name_en = models.CharField("name (English)", max_length=200)
    name_ko = models.CharField("name (Korean)", max_length=200, blank=True)
    slug_en = models.SlugField("slug (English)", max_length=200, unique=True,
                               validators=[validate_category_slug])
    # Blank: the English slug is the Korean URL's too. Unique among the Korean slugs when set.
    slug_ko = models.SlugField("slug (Korean)", max_length=200, blank=True, allow_unicode=True,
                               validators=[validate_category_slug])

    name = translated("name")
    slug = translated("slug")

    class Meta:
        # In both languages the English name orders the list, so a page costs the same index scan.
        ordering = ["name_en"]
        indexes = [models.Index(fields=["name_en"])]
        constraints = [
            models.UniqueConstraint(fields=["slug_ko"], condition=~models.Q(slug_ko=""),
                                    name="category_slug_ko_unique"),
        ]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("shop:product_list_by_category", args=[self.slug])

    def clean(self):
        # `/<slug>/` names one category in either language: a Korean slug that is another
        # category's English one (or the other way round) would make one of them unreachable,
        # the one whose Korean URL falls back to its English slug.
        slugs = {slug for slug in (self.slug_en, self.slug_ko) if slug}
        clash = (Category.objects.exclude(pk=self.pk)
                 .filter(models.Q(slug_en__in=slugs) | models.Q(slug_ko__in=slugs)).first())
        if clash is not None:
            taken = ({clash.slug_en, clash.slug_ko} & slugs).pop()
            field = "slug_ko" if taken == self.slug_ko and taken != self.slug_en else "slug_en"
            raise ValidationError({field: ValidationError(
                "“%(slug)s” is already the address of the category “%(category)s”.",
                params={"slug": taken, "category": clash.name_en},
            )})


class Product(models.Model):
    category = models.ForeignKey(Category, related_name="products", on_delete=models.PROTECT)
    name_en = models.CharField("name (English)", max_length=200)
    name_ko = models.CharField("name (Korean)", max_length=200, blank=True)
    # Not unique: the detail URL finds a product by its id; a slug only reads well.
    slug_en = models.SlugField("slug (English)", max_length=200)
    slug_ko = models.SlugField("slug (Korean)", max_length=200, blank=True, allow_unicode=True)
    image = models.ImageField(upload_to="products/%Y/%m/%d", blank=True)
    description_en = models.TextField("description (English)", blank=True)
    description_ko = models.TextField("description (Korean)", blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.PositiveIntegerField(default=0)
    available = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    name = translated("name")
    slug = translated("slug")
    description = translated("description")

    class Meta:
        ordering = ["name_en", "id"]
        indexes = [
            # List pages filter on availability (and category) and sort by the English name, in
            # both languages: the same index scan, whatever the language.
            models.Index(fields=["available", "name_en", "id"]),
            models.Index(fields=["category", "available", "name_en", "id"]),
            models.Index(fields=["-created"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("shop:product_detail", args=[self.id, self.slug])
