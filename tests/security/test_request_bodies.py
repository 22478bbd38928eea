"""A request body the shop cannot read gets a 400 page and one WARNING line, on every URL.

Django refuses a form body in another charset than UTF-8 and a multipart body without a
boundary; its default error views then parse the body again (for their CSRF token) and turn
the 400 into a 500. The browser here is one that holds a CSRF cookie, so the CSRF check reads
the body as it would for a real shopper.
"""

import logging
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter, SlugConverter, StringConverter

from apps.shop.converters import CatalogSlugConverter

pytestmark = pytest.mark.django_db

CSRF_TOKEN = "k" * 32
GOOD_FORM = f"csrfmiddlewaretoken={CSRF_TOKEN}&quantity=1&first_name=Jos%C3%A9"

# (content type, body): every one is a body Django refuses to parse.
BAD_BODIES = {
    "urlencoded latin-1": ("application/x-www-form-urlencoded; charset=latin-1",
                           GOOD_FORM.encode().replace(b"%C3%A9", b"\xe9")),
    "urlencoded utf-16": ("application/x-www-form-urlencoded; charset=utf-16", GOOD_FORM.encode("utf-16")),
    "urlencoded ascii": ("application/x-www-form-urlencoded; charset=ascii", GOOD_FORM.encode()),
    "urlencoded cp1252": ("application/x-www-form-urlencoded; charset=windows-1252", GOOD_FORM.encode()),
    "multipart without boundary": ("multipart/form-data", b"--x\r\n\r\nquantity=1\r\n--x--\r\n"),
    "multipart with a bad boundary": ("multipart/form-data; boundary=\"\x7f\"", b"--\x7f\r\n"),
    "multipart with an empty boundary": ("multipart/form-data; boundary=", b"--\r\n"),
}
# Bodies too big for Django's limits (DATA_UPLOAD_MAX_NUMBER_FIELDS, DATA_UPLOAD_MAX_MEMORY_SIZE):
# anybody can send them, so they are the client's mistake too, not an error with a traceback.
BAD_BODIES["urlencoded with too many fields"] = (
    "application/x-www-form-urlencoded", "&".join(f"f{i}=1" for i in range(1_001)).encode())
BAD_BODIES["urlencoded too big"] = (
    "application/x-www-form-urlencoded", b"quantity=" + b"1" * (2_621_440 + 1))
# Bodies Django reads as UTF-8 (an unknown charset is ignored): never a 400 for the body.
READABLE_BODIES = {
    "urlencoded utf-8": ("application/x-www-form-urlencoded; charset=utf-8", GOOD_FORM.encode()),
    "urlencoded unknown charset": ("application/x-www-form-urlencoded; charset=no-such-charset",
                                   GOOD_FORM.encode()),
}

# A value for each path converter: the bad body is refused before a view would look it up.
CONVERTER_VALUES = {IntConverter: "1", SlugConverter: "some-slug", CatalogSlugConverter: "some-slug",
                    StringConverter: "x"}


def every_url(resolver=None, prefix="") -> list[str]:
    """One concrete URL for every pattern the project answers, the admin's login included."""
    urls = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                # The admin's ~100 views all sit behind the same login; its login is the one
                # an anonymous form reaches.
                urls.append(f"/{prefix}{entry.pattern}login/")
                continue
            urls.extend(every_url(entry, f"{prefix}{entry.pattern}"))
        elif isinstance(entry, URLPattern):
            converters = getattr(entry.pattern, "converters", {})
            route = re.sub(r"<(?:\w+:)?(\w+)>",
                           lambda match, c=converters: CONVERTER_VALUES[type(c[match[1]])],
                           str(entry.pattern).lstrip("^").rstrip("$"))
            urls.append("/" + prefix + route)
    return urls


class EscapedFromDjango:
    """What a WSGI server answers when an exception escapes Django's handler: a bare 500."""

    status_code = 500
    content = b""


def post(url: str, content_type: str, body: bytes):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_TOKEN
    try:
        return client.generic("POST", url, body, content_type=content_type)
    except Exception:  # noqa: BLE001 - Django's error views raised again: gunicorn would send a 500
        return EscapedFromDjango()


def test_every_url_the_shop_has_is_tried():
    urls = every_url()
    for expected in ["/en/", "/en/some-slug/", "/en/1/some-slug/", "/en/cart/", "/en/cart/add/1/",
                     "/en/cart/remove/1/", "/en/orders/create/", "/en/orders/created/1/", "/healthz/",
                     "/admin/login/", "/payment/webhook/"]:
        assert expected in urls
    assert not [url for url in urls if "<" in url or "(" in url], urls


@pytest.mark.parametrize("kind", list(BAD_BODIES))
def test_a_body_that_cannot_be_read_is_a_400_with_a_warning_on_every_url(kind, caplog):
    content_type, body = BAD_BODIES[kind]
    urls = every_url() + ["/no/such/page/here/"]
    answers = {}
    for url in urls:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = post(url, content_type, body)
        warnings = [r for r in caplog.records
                    if r.levelno == logging.WARNING and "request body" in r.getMessage()]
        answers[url] = (response.status_code,
                        len(warnings),
                        [r.levelname for r in caplog.records if r.levelno >= logging.ERROR],
                        any(r.exc_info for r in caplog.records),
                        b"request" in response.content.lower(),
                        # The 400 page carries the headers every page carries.
                        "Content-Security-Policy" in response and "X-Frame-Options" in response)

    server_errors = {url: answer for url, answer in answers.items() if answer[0] >= 500}
    assert server_errors == {}, f"5xx: {len(server_errors)} of {len(urls)} URLs"
    # A WARNING line that says why, nothing at ERROR, no traceback, a page that says what happened.
    assert {url: answer for url, answer in answers.items() if answer != (400, 1, [], False, True, True)} == {}


def test_the_warning_names_the_method_path_and_reason(caplog):
    content_type, body = BAD_BODIES["urlencoded latin-1"]
    with caplog.at_level(logging.INFO):
        post("/en/cart/add/1/", content_type, body)

    [record] = [r for r in caplog.records if "request body" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "POST /en/cart/add/1/" in record.getMessage()
    assert "UTF-8" in record.getMessage()
    assert record.exc_info is None


@pytest.mark.parametrize("kind", list(READABLE_BODIES))
def test_a_readable_body_reaches_the_view(kind):
    content_type, body = READABLE_BODIES[kind]

    response = post("/en/orders/create/", content_type, body)

    # The view ran: an empty cart sends the shopper to the cart page.
    assert response.status_code == 302
    assert response.url == "/en/cart/"
