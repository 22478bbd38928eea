"""The shop's languages: old URLs to prefixed ones, the same page in another language, the switcher.

A page in another language is the same URL name with the same arguments under the other prefix
(django.urls.translate_url). A view whose arguments are themselves translated (a product's slug)
redirects from the other language's to its own. The catalog cache renders its pages without a
request, so their switcher links carry NEXT_SLOT, and fill_switcher() puts the visitor's path in.
"""

import secrets
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.middleware import locale
from django.urls import reverse, translate_url
from django.utils.translation import get_language_from_path, override

# Stands in for the current page's path in a page rendered without a request. Random per process,
# so no product text can contain it; letters and digits, so escaping and quoting leave it alone.
NEXT_SLOT = f"language-next-slot-{secrets.token_hex(16)}"


class LocaleMiddleware(locale.LocaleMiddleware):
    """Django's, which redirects an old unprefixed URL to the prefixed one when that exists; a form
    posted there is sent on with its body (307) rather than turned into a GET (302), which the
    POST-only views would refuse with an empty 405.
    """

    def process_response(self, request, response):
        answer = super().process_response(request, response)
        posted = request.method not in ("GET", "HEAD")
        if posted and response.status_code == 404 and answer.status_code == 302:
            answer.status_code = 307
        return answer


def page_in_language(url: str, language: str) -> str:
    """`url` (a path on this site) in `language`; the language's home when no such page is known."""
    current = get_language_from_path(urlsplit(url).path)
    if current is None:
        with override(language):
            return reverse("shop:product_list")
    with override(current):
        translated = translate_url(url, language)
    if translated != url:
        return translated
    # No URL name matches (a page that does not exist): the same path under the other prefix.
    # The prefix as the path has it (/en-us/ reads as en): its whole first segment goes.
    parts = urlsplit(url)
    path = f"/{language}/" + parts.path.lstrip("/").partition("/")[2]
    return urlunsplit(("", "", path, parts.query, ""))


def switcher_links(current_language: str, next_path: str) -> list[dict[str, str]]:
    """One link per other language: code, its own name, and the switch URL keeping the page."""
    switch = reverse("switch_language")
    return [
        {"code": code, "name": name, "url": f"{switch}?language={code}&next={quote(next_path, safe='')}"}
        for code, name in settings.LANGUAGES
        if code != current_language
    ]


def fill_switcher(html: str, request) -> str:
    """A page rendered without a request, with this visitor's path where its switcher needs it."""
    if NEXT_SLOT not in html:
        return html
    return html.replace(NEXT_SLOT, quote(request.get_full_path(), safe=""))
