from django.urls import path, register_converter

from apps.shop import views
from apps.shop.converters import CatalogSlugConverter

app_name = "shop"

register_converter(CatalogSlugConverter, "catalog_slug")

urlpatterns = [
    path("", views.product_list, name="product_list"),
    path("<catalog_slug:category_slug>/", views.product_list, name="product_list_by_category"),
    path("<int:id>/<catalog_slug:slug>/", views.product_detail, name="product_detail"),
]
