"""Shop pages in Korean for the apps' tests: a client that asks for Korean, and what a page says
in the shop's own words (product and category text, marked data-product-text, left out)."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest
from django.conf import settings
from django.test import Client

# Words a Korean page may still write in Latin letters: the time zone and currency codes.
LATIN_ALLOWED = frozenset({"UTC", "USD", "KRW", "EUR", "JPY"})
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def catalogs_compiled() -> None:
    """Fail, saying what to run, when an app's catalog is not compiled or older than its .po:
    the pages would then be English for a reason that has nothing to do with the test."""
    for po in sorted(Path(settings.BASE_DIR, "apps").glob("*/locale/*/LC_MESSAGES/django.po")):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            pytest.fail(f"{mo} is missing or older than its .po: run "
                        "`.venv/bin/python manage.py compilemessages`", pytrace=False)


def korean_client(client: Client | None = None) -> Client:
    """`client` (a new one by default) asking for Korean, as a browser set to Korean does."""
    catalogs_compiled()
    client = client or Client()
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "ko"
    return client


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
