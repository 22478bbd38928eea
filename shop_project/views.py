"""Project-wide views that belong to no app."""

from django.http import HttpResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request):
    """Liveness for load balancers and uptime checks; no database, no session.

    It is also the framework floor of `make bench`: what one request costs with no shop in it.
    """
    return HttpResponse("ok", content_type="text/plain")
