"""Saving or deleting a product or category tells the catalog cache (imported in apps.py)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.shop.catalog_cache import catalog_changed
from apps.shop.models import Category, Product


@receiver([post_save, post_delete], sender=Product, dispatch_uid="catalog-cache-product")
@receiver([post_save, post_delete], sender=Category, dispatch_uid="catalog-cache-category")
def catalog_row_changed(sender, **kwargs) -> None:
    catalog_changed()
