"""factory_boy factories for the catalog, shared by every app's tests."""

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from apps.shop.models import Category, Product


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category

    # English only, as a catalog is before staff translate it: Korean pages fall back to it.
    # `name=` and `slug=` set these too (Category.name is the English one when assigned).
    name_en = factory.Sequence(lambda n: f"Category {n}")
    # A prefix no reserved slug (admin, cart, ...) starts with, so every slug is valid.
    slug_en = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    category = factory.SubFactory(CategoryFactory)
    name_en = factory.Sequence(lambda n: f"Product {n}")
    # Product slugs need not be unique, but detail URLs read better in failures when they are.
    slug_en = factory.Sequence(lambda n: f"product-{n}")
    description_en = "A product made for a test."
    price = Decimal("10.00")
    stock = 10
    available = True
    # No file: most tests never look at the image, and writing one would only slow them down.
    image = ""
