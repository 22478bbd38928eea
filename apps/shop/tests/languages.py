"""Requests in a language, the same before and after the shop's URLs carry a language prefix.

The URL is reversed with the language active (so under i18n_patterns it is `/ko/...`) and the
request says the language in Accept-Language (which picks it where the path does not).
"""

from collections.abc import Callable

from django.test import Client
from django.utils import translation


def url_in(language: str, url: Callable[[], str]) -> str:
    """`url()` (a reverse, a get_absolute_url) worked out with `language` active."""
    with translation.override(language):
        return url()


def get_in(language: str, client: Client, url: Callable[[], str] | str, **query):
    """GET the page in `language`; `url` a callable is reversed in that language."""
    path = url_in(language, url) if callable(url) else url
    response = client.get(path, query, HTTP_ACCEPT_LANGUAGE=language)
    # The middleware leaves the request's language active in this thread: leave none behind.
    translation.deactivate()
    return response
