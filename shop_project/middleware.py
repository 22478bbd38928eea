"""A form body Django cannot parse is answered with a 400 page here, before anything reads it."""

import logging

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http.multipartparser import MultiPartParserError

from shop_project.views import bad_request

logger = logging.getLogger(__name__)

# The content types Django parses into request.POST; any other body is left to the view.
FORM_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class UnreadableBodyMiddleware:
    """Parse a POSTed form once, up front; a body Django refuses becomes a 400 and one WARNING.

    Django refuses urlencoded bodies in another charset than UTF-8, multipart bodies without a
    valid boundary, and bodies past its size and field-count limits (SuspiciousOperation). Left
    to the CSRF check, the refusal is logged with a traceback and the error view parses the body
    again, which ends in a 500. It sits after the middleware that add the security headers, so
    the 400 page carries them too; none of those before it reads request.POST. Parsing here means no view can
    change request.upload_handlers afterwards; the shop has none that does (CSRF protection
    reads request.POST before any view in any case).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
            try:
                request.POST  # noqa: B018 - parsing is the point
            except (BadRequest, MultiPartParserError, SuspiciousOperation) as error:
                # Later readers (the error page, the logging) then see an empty form, as
                # Django itself does after a parse error.
                request._mark_post_parse_error()
                # A client's mistake, not the shop's: a line, no traceback.
                logger.warning("Unreadable request body: %s %s (Content-Type %r): %s", request.method,
                               request.path, request.META.get("CONTENT_TYPE", "")[:100], error)
                return bad_request(request, error)
        return self.get_response(request)
