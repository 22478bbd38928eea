"""{% load marks %}: product_text and kept_as_is (shop_project/marks.py) as filters."""

from django import template

from shop_project import marks

register = template.Library()
register.filter("product_text", marks.product_text)
register.filter("kept_as_is", marks.kept_as_is)
