"""Zappa callbacks (zappa_settings.json "callbacks"), run by `zappa package`, `deploy` and `update`."""

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import click

# Collects the static files locally, hashed exactly as collectstatic hashes them on S3, and
# prints the manifest. Django's local settings need no AWS and no database for this.
_BUILD_MANIFEST = """
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "shop_project.settings.local"
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.test.utils import override_settings
storages = {**settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}
with override_settings(STATIC_ROOT=sys.argv[1], STORAGES=storages):
    call_command("collectstatic", interactive=False, verbosity=0)
"""


def add_static_manifest(zappa_cli) -> None:
    """Put the static files' manifest into the package, as shop_project/staticfiles.json.

    The "zip" callback, after Zappa has built the package. With the manifest in the package a
    cold start needs no S3 read to write static URLs (shop_project.storages).
    """
    with tempfile.TemporaryDirectory() as static_root:
        subprocess.run([sys.executable, "-c", _BUILD_MANIFEST, static_root], check=True)
        with zipfile.ZipFile(zappa_cli.zip_path, "a", compression=zipfile.ZIP_DEFLATED) as package:
            package.write(Path(static_root) / "staticfiles.json", "shop_project/staticfiles.json")
    click.echo("Static files manifest added to the package.")


def report_batch_item_failures(zappa_cli) -> None:
    """Make the function's SQS event-source mappings report batch item failures.

    Zappa creates the mapping without FunctionResponseTypes, and then Lambda treats a batch as
    one: a single failed record would make SQS deliver all ten again. The worker handler
    returns {"batchItemFailures": [...]}, which Lambda reads only with ReportBatchItemFailures.
    Runs as the "post" callback, after every deploy and update, so it holds after both.
    """
    client = zappa_cli.zappa.lambda_client
    # By the function's ARN, as Zappa itself creates and looks up its mappings: AWS takes a name
    # or an ARN, but moto matches FunctionName literally against what the mapping was made with.
    function = client.get_function(FunctionName=zappa_cli.lambda_name)["Configuration"]
    pages = client.get_paginator("list_event_source_mappings").paginate(FunctionName=function["FunctionArn"])
    for mapping in (m for page in pages for m in page["EventSourceMappings"]):
        if not mapping.get("EventSourceArn", "").startswith("arn:aws:sqs:"):
            continue
        if "ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", []):
            continue
        client.update_event_source_mapping(
            UUID=mapping["UUID"], FunctionResponseTypes=["ReportBatchItemFailures"]
        )
        click.echo(f"SQS mapping {mapping['UUID']} now reports batch item failures.")
