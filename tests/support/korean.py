"""Shop pages in Korean for the apps' tests: a client that asks for Korean, and what a page says
in the shop's own words (product and category text, marked data-product-text, left out)."""

from __future__ import annotations

import re

import lxml.html
import pytest
from django.test import Client
from django.utils import translation

from shop_project.catalogs import is_stale, po_files

# Words a Korean page may still write in Latin letters: the time zone and currency codes.
LATIN_ALLOWED = frozenset({"UTC", "USD", "KRW", "EUR", "JPY"})
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def catalogs_compiled() -> None:
    """Fail, saying what to run, when a catalog is not compiled or older than its .po: the pages
    would then be English for a reason that has nothing to do with the test."""
    stale = [po for po in po_files() if is_stale(po)]
    if stale:
        pytest.fail(f"{stale[0]} is not compiled, or changed since: run "
                    "`.venv/bin/python manage.py compile_catalogs`", pytrace=False)


class KoreanClient(Client):
    """A browser set to Korean, on the shop's Korean URLs: a shop URL the test reversed in
    English (/en/...) is asked for under /ko/, as the Korean pages' own links are."""

    def request(self, **request):
        path = request.get("PATH_INFO", "")
        if path.startswith("/en/"):
            request["PATH_INFO"] = "/ko/" + path.removeprefix("/en/")
        # LocaleMiddleware leaves Korean active in this thread: the test's own reverse() and
        # English clients after this request keep the language they had.
        with translation.override(translation.get_language()):
            return super().request(**request)


def korean_client() -> Client:
    """A new client asking for Korean pages, as a browser set to Korean does."""
    catalogs_compiled()
    return KoreanClient(HTTP_ACCEPT_LANGUAGE="ko")


def shop_words(response) -> str:
    """The text of the page's content and cart summary, without product or category text.

    The rest of the layout (templates/base.html) belongs to the project's catalog, not an app's.
    """
    tree = lxml.html.fromstring(response.content.decode())
    for element in tree.xpath("//*[@data-product-text] | //script | //style"):
        element.drop_tree()
    parts = []
    for element in tree.xpath("//main | //*[contains(@class, 'cart-summary')]"):
        parts.append(element.text_content())
        parts += element.xpath(".//@placeholder | .//@aria-label | .//@alt")
    return " ".join(" ".join(parts).split())


def messages_shown(response) -> list[str]:
    """The notices the page shows (messages framework)."""
    tree = lxml.html.fromstring(response.content.decode())
    return [" ".join(li.text_content().split()) for li in tree.xpath("//ul[contains(@class, 'messages')]/li")]


def assert_korean_page(response, *, korean: list[str], english: list[str], allowed: set[str] = frozenset()):
    """The page says each of `korean` and none of `english`, and no Latin word but the allowed ones."""
    assert response.status_code == 200, response.status_code
    words = shop_words(response)
    for text in korean:
        assert text in words, f"{text!r} not on the page: {words}"
    for text in english:
        assert text not in words, f"{text!r} still on the Korean page: {words}"
    latin = set(_LATIN_WORD.findall(words)) - LATIN_ALLOWED - set(allowed)
    assert not latin, f"English left on the Korean page: {sorted(latin)} in {words}"
