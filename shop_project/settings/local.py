"""Settings for `make run` and `manage.py` on a developer's machine."""

from csp.constants import SELF

from .base import *  # noqa: F403
from .base import content_security_policy, env, stripe_js_sources

# `make run` starts localstripe, a fake Stripe, here: a newcomer pays without a network.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="http://127.0.0.1:8420")
STRIPE_JS_URL = env("STRIPE_JS_URL", default=f"{STRIPE_API_BASE}/js.stripe.com/v3/")
STRIPE_JS_SOURCES = stripe_js_sources(STRIPE_JS_URL)
CONTENT_SECURITY_POLICY = content_security_policy(
    static_origin=SELF, media_origin=SELF, stripe_js_url=STRIPE_JS_URL)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-development-key-never-used-in-production")
DEBUG = env.bool("DJANGO_DEBUG", default=True)
if DEBUG:
    # Django's debug pages (the yellow error page, the 404 with the URL list) carry inline
    # styles and scripts that the policy refuses. Reported instead of enforced: the browser's
    # console still names every violation the shop's own pages would have in production.
    CONTENT_SECURITY_POLICY_REPORT_ONLY = CONTENT_SECURITY_POLICY
    CONTENT_SECURITY_POLICY = None
