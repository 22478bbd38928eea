"""Zappa callbacks (zappa_settings.json "callbacks"), run by `zappa package`, `deploy` and `update`."""

import os
import py_compile
import subprocess
import sys
import tempfile
import zipfile
from importlib.util import cache_from_source
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


def refuse_another_region(zappa_cli) -> None:
    """Stop any zappa command whose AWS session is not in the stage's aws_region; name both.

    The "settings" callback: Zappa runs it once the settings are read, before the command
    touches AWS. With credentials in the environment (AWS_ACCESS_KEY_ID, as in CI), Zappa
    builds its session with AWS_DEFAULT_REGION ahead of the stage's aws_region
    (zappa/core.py, Zappa.load_credentials). Zappa 0.63 still gives its Lambda client the
    stage's region, but every other client (S3 for the package, CloudFormation and API Gateway,
    EventBridge for the schedules, IAM, logs) the session's: a shell or job whose default
    region differs splits the stage across two regions, far from the stack's queue, role and
    subnets. Refusing, rather than overriding the session, leaves the choice with the operator
    and changes nothing of Zappa.
    """
    session = getattr(zappa_cli.zappa, "boto_session", None)
    if session is None:
        return  # `zappa package` loads no credentials and reaches no AWS
    stage_region = zappa_cli.stage_config.get("aws_region")
    if not stage_region or session.region_name == stage_region:
        return
    session_region = session.region_name
    variable = os.environ.get("AWS_DEFAULT_REGION")
    source = f"AWS_DEFAULT_REGION={variable}" if variable == session_region else "the AWS session"
    raise click.ClickException(
        f"stage {zappa_cli.api_stage} is in {stage_region} (its aws_region), but {source} would send "
        f"this command to {session_region} (Zappa prefers the variable when the credentials are in the "
        f"environment). Unset AWS_DEFAULT_REGION or set it to {stage_region}, and run again."
    )


def complete_package(zappa_cli) -> None:
    """The "zip" callback, after Zappa has built the package: what Zappa cannot put in by itself."""
    add_static_manifest(zappa_cli)
    add_message_catalogs(zappa_cli)
    add_bytecode(zappa_cli)


def add_static_manifest(zappa_cli) -> None:
    """Put the static files' manifest into the package, as shop_project/staticfiles.json.

    With the manifest in the package a cold start needs no S3 read to write static URLs
    (shop_project.storages).
    """
    with tempfile.TemporaryDirectory() as static_root:
        subprocess.run([sys.executable, "-c", _BUILD_MANIFEST, static_root], check=True)
        with zipfile.ZipFile(zappa_cli.zip_path, "a", compression=zipfile.ZIP_DEFLATED) as package:
            package.write(Path(static_root) / "staticfiles.json", "shop_project/staticfiles.json")
    click.echo("Static files manifest added to the package.")


def add_message_catalogs(zappa_cli) -> None:
    """Put the en and ko .mo files into the package, and no other language's.

    zappa_settings.json leaves every .po and .mo out (Django ships catalogs for ~100 languages,
    ~10 MB). This adds the shop's own, compiled here from the .po files (polib, in the deploy
    venv: never committed, so never stale), and Django's own en and ko ones (its messages, and
    those of each contrib app the package carries) from the Django the package was built with.
    """
    import django

    # Zappa loads this module by its file: the project is not on sys.path.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from shop_project.catalogs import LANGUAGE_CODES, iter_compiled

    django_root = Path(django.__file__).resolve().parent
    with zipfile.ZipFile(zappa_cli.zip_path, "a", compression=zipfile.ZIP_DEFLATED) as package:
        packaged = set(package.namelist())
        for name, data in iter_compiled():
            package.writestr(name, data)
        catalog_dirs = [django_root / "conf", *sorted(
            app for app in (django_root / "contrib").iterdir()
            if f"django/contrib/{app.name}/__init__.py" in packaged
        )]
        for folder in catalog_dirs:
            for language in LANGUAGE_CODES:
                for mo in sorted((folder / "locale" / language / "LC_MESSAGES").glob("*.mo")):
                    package.write(mo, mo.relative_to(django_root.parent).as_posix())
    click.echo("Message catalogs (en, ko) added to the package.")


# Large, and imported only by the requests or tasks that use them (the payment pages, the
# invoice): compiled on a container's first use instead of carried (zipped, they would be
# ~6 MiB of the 30 MiB budget).
BYTECODE_LEFT_OUT = ("stripe/", "fontTools/", "fpdf/", "PIL/")


def add_bytecode(zappa_cli) -> None:
    """Put the modules' bytecode into the package, valid whatever their sources' file dates.

    Lambda's /var/task is read-only: Python cannot write the bytecode it compiles there, so a
    package without it compiles every module a cold start imports, on every cold start (about
    1.2 s of the shop's 1.6 s, bench/cold_start.py --read-only). pip's own __pycache__ folders are left
    out (zappa_settings.json "exclude"): they record the sources' modification times at install,
    and Zappa dates every file in the zip 1980-01-01, so Python would find all of them stale.
    These are compiled here, from the packaged sources, as unchecked-hash pycs (PEP 552):
    Python loads them without looking at the source's date or content. The package's sources
    never change once built; a new `zappa update` brings new bytecode with them.
    """
    runtime = zappa_cli.stage_config.get("runtime", "")
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtime != here:
        # Bytecode is per Python version: the runtime would ignore another's, at the price of its size.
        click.echo(f"No bytecode added: the stage runs {runtime}, this is {here}.")
        return
    with tempfile.TemporaryDirectory() as workdir, \
            zipfile.ZipFile(zappa_cli.zip_path, "a", compression=zipfile.ZIP_DEFLATED) as package:
        sources = [name for name in package.namelist()
                   if name.endswith(".py") and not name.startswith(BYTECODE_LEFT_OUT)]
        compiled = 0
        for name in sources:
            source = Path(workdir) / name
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(package.read(name))
            bytecode = Path(cache_from_source(str(source)))
            try:
                py_compile.compile(str(source), cfile=str(bytecode), dfile=name, doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            except py_compile.PyCompileError:
                continue  # Python would not import it either (a template or a py2 file some package ships)
            package.write(bytecode, bytecode.relative_to(workdir).as_posix())
            compiled += 1
    click.echo(f"Bytecode for {compiled} of the package's {len(sources)} modules added to it.")


# What SQS's event source allows as its maximum concurrency (ScalingConfig).
SQS_MAXIMUM_CONCURRENCY = range(2, 1001)


def configure_sqs_mappings(zappa_cli) -> None:
    """Make the function's SQS mappings report batch item failures, and cap their concurrency.

    The "post" callback, after every deploy and update, so both hold after either. Zappa
    creates the mapping without FunctionResponseTypes, and then Lambda treats a batch as one:
    a single failed record would make SQS deliver all ten again. The worker handler returns
    {"batchItemFailures": [...]}, which Lambda reads only with ReportBatchItemFailures.
    Zappa 0.63 has no setting for the mapping's ScalingConfig either: an event_source's
    "maximum_concurrency" in zappa_settings.json becomes it, so the worker's share of the
    function's reserved concurrency (lambda_concurrency) is bounded and leaves the web the rest
    (infra/README.md, "Database connections").
    """
    client = zappa_cli.zappa.lambda_client
    caps = {}
    for event in zappa_cli.stage_config.get("events", []):
        source = event.get("event_source") or {}
        if "maximum_concurrency" in source:
            cap = source["maximum_concurrency"]
            if isinstance(cap, bool) or cap not in SQS_MAXIMUM_CONCURRENCY:
                raise click.ClickException(
                    f"the event source {source.get('arn')}: maximum_concurrency must be a whole number "
                    f"from 2 to 1000 (SQS's limits), not {cap!r}"
                )
            caps[source.get("arn")] = cap
    # By the function's ARN, as Zappa itself creates and looks up its mappings: AWS takes a name
    # or an ARN, but moto matches FunctionName literally against what the mapping was made with.
    function = client.get_function(FunctionName=zappa_cli.lambda_name)["Configuration"]
    pages = client.get_paginator("list_event_source_mappings").paginate(FunctionName=function["FunctionArn"])
    for mapping in (m for page in pages for m in page["EventSourceMappings"]):
        if not mapping.get("EventSourceArn", "").startswith("arn:aws:sqs:"):
            continue
        changes = {}
        if "ReportBatchItemFailures" not in mapping.get("FunctionResponseTypes", []):
            changes["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
        cap = caps.get(mapping["EventSourceArn"])
        if cap is not None and (mapping.get("ScalingConfig") or {}).get("MaximumConcurrency") != cap:
            changes["ScalingConfig"] = {"MaximumConcurrency": cap}
        if not changes:
            continue
        client.update_event_source_mapping(UUID=mapping["UUID"], **changes)
        if "FunctionResponseTypes" in changes:
            click.echo(f"SQS mapping {mapping['UUID']} now reports batch item failures.")
        if "ScalingConfig" in changes:
            click.echo(f"SQS mapping {mapping['UUID']} now runs at most {cap} invocations at once.")
