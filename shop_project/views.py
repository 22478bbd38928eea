"""Project-wide views that belong to no app: the health check and the error pages."""

from django.http import HttpResponse
from django.utils.html import format_html
from django.views.decorators.http import require_GET


@require_GET
def healthz(request):
    """Liveness for load balancers and uptime checks; no database, no session.

    It is also the framework floor of `make bench`: what one request costs with no shop in it.
    """
    return HttpResponse("ok", content_type="text/plain")


# The error pages. Django's default ones are decorated with requires_csrf_token, which reads
# the request body again; when the body is what failed, that turns a 400 or 404 into a 500.
# These read nothing from the request and need no template, database or static file, so they
# render whatever broke.
ERROR_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title} · My Shop</title></head>
<body>
  <h1>{title}</h1>
  <p>{explanation}</p>
  <p><a href="/">Back to the shop</a></p>
</body>
</html>
"""


def error_page(status: int, title: str, explanation: str) -> HttpResponse:
    return HttpResponse(format_html(ERROR_PAGE, title=title, explanation=explanation), status=status)


def bad_request(request, exception=None):
    return error_page(400, "Bad request", "The shop could not read what your browser sent. "
                      "Please go back and try again.")


def permission_denied(request, exception=None):
    return error_page(403, "Forbidden", "You are not allowed to see this page.")


def page_not_found(request, exception=None):
    return error_page(404, "Page not found", "There is no page at this address.")


def server_error(request):
    return error_page(500, "Something went wrong", "The shop could not answer. Please try again "
                      "in a moment.")
