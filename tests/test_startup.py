"""The collector held back during a start and given back after it (shop_project/startup.py).

The check starts a fresh interpreter: in the test process the start is long over.
"""

import gc
import json
import subprocess
import sys
import textwrap

from django.conf import settings

from shop_project.startup import START_THRESHOLD, StartupConfig

A_START = """
    import gc, json
    from django.conf import settings
    settings.INSTALLED_APPS  # every start imports the settings first
    during = gc.get_threshold()
    import django
    django.setup()
    print(json.dumps({"during": during, "after": gc.get_threshold(), "frozen": gc.get_freeze_count()}))
"""


def test_collections_are_rare_until_the_apps_are_ready_then_usual_again():
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(A_START)], capture_output=True, text=True, timeout=60,
        env={"DJANGO_SETTINGS_MODULE": "shop_project.settings.test", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    start = json.loads(result.stdout.strip().splitlines()[-1])
    usual = list(gc.get_threshold())
    assert start["during"] == [START_THRESHOLD, *usual[1:]]
    assert start["after"] == usual
    # What the start built is out of the collector's way: tens of thousands of objects.
    assert start["frozen"] > 10_000


def test_the_startup_app_is_ready_last():
    assert settings.INSTALLED_APPS[-1] == f"{StartupConfig.__module__}.{StartupConfig.__name__}"
