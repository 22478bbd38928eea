"""The web process starts without importing `stripe` (~0.2 s of every Lambda cold start).

A fresh interpreter loads the WSGI application and resolves every URL the shop has, which
imports every view module; `stripe` must not be among the modules loaded. It is imported by the
functions that call Stripe, on the first payment page a process serves.
"""

import subprocess
import sys

from django.conf import settings

START_AND_RESOLVE = r"""
import sys
from shop_project.wsgi import application  # noqa: F401 - the web process's start
from django.urls import URLPattern, URLResolver, get_resolver, resolve

def routes(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from routes(pattern, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)

resolved = 0
for route in routes(get_resolver()):
    path = "/" + route.replace("^", "").replace("$", "")
    for converter, sample in (("<int:", "1"), ("<slug:", "a-slug"), ("<path:", "x"), ("<", "x")):
        while converter in path:
            start = path.index(converter)
            path = path[:start] + sample + path[path.index(">", start) + 1:]
    resolve(path.replace("(?P", "").replace(".*)", ""))
    resolved += 1
print(resolved, sorted(name for name in sys.modules if name == "stripe" or name.startswith("stripe."))[:3])
"""


def test_the_web_process_starts_and_resolves_every_url_without_importing_stripe():
    env = {"DJANGO_SETTINGS_MODULE": "shop_project.settings.test", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", START_AND_RESOLVE], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr[-3000:]
    resolved, stripe_modules = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert int(resolved) > 20  # the shop's, the payment pages' and the admin's URLs
    assert stripe_modules == "[]"
