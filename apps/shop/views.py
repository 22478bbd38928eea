"""Catalog pages: the product list (all or one category) and a product's detail."""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from apps.cart.forms import CartAddProductForm
from apps.shop import selectors


def product_list(request, category_slug=None):
    categories = selectors.category_list()
    category = None
    if category_slug is not None:
        # Picked from the list the sidebar needs anyway, which saves the page a query.
        category = next((c for c in categories if c.slug == category_slug), None)
        if category is None:
            raise Http404("No such category.")
    products = selectors.available_products(category=category)
    page = Paginator(products, settings.PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "shop/product/list.html",
        {"category": category, "categories": categories, "page": page, "products": page.object_list},
    )


def product_detail(request, id, slug):
    product = selectors.available_product(product_id=id, slug=slug)
    if product is None:
        raise Http404("No such product.")
    return render(
        request,
        "shop/product/detail.html",
        {"product": product, "cart_product_form": CartAddProductForm()},
    )
