"""`{% language_switcher %}`: the header's links to the current page in the other languages."""

from django import template
from django.utils.translation import get_language

from shop_project.languages import NEXT_SLOT, switcher_links

register = template.Library()


@register.inclusion_tag("includes/language_switcher.html", takes_context=True)
def language_switcher(context) -> dict:
    request = context.get("request")
    # The catalog cache renders without a request; it fills NEXT_SLOT per visitor.
    next_path = request.get_full_path() if request is not None else NEXT_SLOT
    return {"links": switcher_links(get_language(), next_path)}
