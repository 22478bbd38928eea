"""Project-wide views that belong to no app: the health check, the language switch, the error pages."""

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext, override
from django.views.decorators.http import require_GET

from shop_project.languages import page_in_language


@require_GET
def healthz(request):
    """Liveness for load balancers and uptime checks; no database, no session.

    It is also the framework floor of `make bench`: what one request costs with no shop in it.
    """
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def switch_language(request):
    """The header's language links: the page `next` in `language`, remembered in the language cookie.

    A GET, so that the links work on cached catalog pages, which carry no form token: all it
    changes is which language a later visit to an unprefixed URL lands on (LocaleMiddleware
    reads the cookie before Accept-Language).
    """
    language = request.GET.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return error_page(400, gettext("Bad request"), gettext("There is no such language in the shop."))
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    response = HttpResponseRedirect(page_in_language(next_url, language))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language,
        max_age=settings.LANGUAGE_COOKIE_AGE, path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN, secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY, samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


# The error pages. Django's default ones are decorated with requires_csrf_token, which reads
# the request body again; when the body is what failed, that turns a 400 or 404 into a 500.
# These read nothing from the request and need no template, database or static file, so they
# render whatever broke. They speak the request's language (LocaleMiddleware activated it).
ERROR_PAGE = """<!doctype html>
<html lang="{language}">
<head><meta charset="utf-8"><title>{title} · My Shop</title></head>
<body>
  <h1>{title}</h1>
  <p>{explanation}</p>
  <p><a href="{home}">{back}</a></p>
</body>
</html>
"""


def error_page(status: int, title: str, explanation: str) -> HttpResponse:
    language = get_language() or settings.LANGUAGE_CODE
    with override(language):
        home = reverse("shop:product_list")
    page = format_html(ERROR_PAGE, language=language, title=title, explanation=explanation, home=home,
                       back=gettext("Back to the shop"))
    return HttpResponse(page, status=status)


def bad_request(request, exception=None):
    return error_page(400, gettext("Bad request"), gettext(
        "The shop could not read what your browser sent. Please go back and try again."))


def permission_denied(request, exception=None):
    return error_page(403, gettext("Forbidden"), gettext("You are not allowed to see this page."))


def page_not_found(request, exception=None):
    return error_page(404, gettext("Page not found"), gettext("There is no page at this address."))


def server_error(request):
    return error_page(500, gettext("Something went wrong"), gettext(
        "The shop could not answer. Please try again in a moment."))
