from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "apps.shop"
    label = "shop"
    verbose_name = "Catalog"

    def ready(self):
        from apps.shop import signals  # noqa: F401 - connects the catalog cache's receivers
