"""Package size and cold start of the Lambda package, next to a bare Django project.

Both are packaged by the same Zappa (0.63.0, from requirements-deploy.txt) with the same
exclusions, unzipped, and started as Lambda starts a container (devtools/lambda_runner.py: the
package and the runtime's boto3 only on sys.path). A cold start is the handler's import plus
its first request: the shop's product list in English and in Korean (GET /en/ and GET /ko/, the
latter from Django's and the shop's Korean catalogs) against SQLite and moto's S3, the bare
project's one-line view (GET /). Runs alternate between the three, and the medians are compared.
Targets: at most 30 MiB zipped and 100 MB unzipped; cold start at most 1.3x the bare project's,
in both languages.

--read-only adds the same starts from folders Python writes no bytecode into (-B), as on Lambda,
whose /var/task is read-only: there a package without bytecode compiles what it imports on every
cold start (the bare project's), and the shop's carries its own (infra/zappa_callbacks.py).

Times on a shared machine move by 10-20 % from run to run; --instructions adds one cold start of
each under valgrind's callgrind, whose instruction counts are the same on every run: the figure
to compare two versions of the code by (it leaves out what time spends waiting on files).

    .venv/bin/python bench/cold_start.py [--runs 9] [--instructions] [--read-only]
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.lambda_package import (  # noqa: E402
    LambdaContainer,
    api_gateway_event,
    container_env,
    runtime_dir,
    site_packages_of,
    unzip,
)
from devtools.sqs import aws_environment, aws_environment_variables, moto_server  # noqa: E402
from devtools.zappa import build_deploy_venv, copy_repo, run_zappa, zappa_environment  # noqa: E402

HOST = "abc123defg.execute-api.eu-west-1.amazonaws.com"
MiB = 1024 * 1024
SHOP_PAGES = {"shop, GET /en/": "/en/", "shop, GET /ko/": "/ko/"}
BARE = "bare Django"
READ_ONLY = ", read-only"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--instructions", action="store_true",
                        help="also count one cold start of each under callgrind (needs valgrind)")
    parser.add_argument("--read-only", action="store_true",
                        help="also start each with Python writing no bytecode (-B), as on Lambda")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shop-cold-start-"))
    shop_zip = package_shop(work)
    bare_zip = package_bare(work)
    shop_dir, bare_dir = unzip(shop_zip, work / "shop-pkg"), unzip(bare_zip, work / "bare-pkg")
    runtime = runtime_dir(site_packages_of(), work / "runtime")

    with moto_server() as server, aws_environment(server):
        shop_env = shop_environment(server, work)
        prepare_shop(shop_dir, runtime, shop_env)
        bare_env = container_env(DJANGO_SETTINGS_MODULE="bare.settings")
        starts = {name: (shop_dir, shop_env, path) for name, path in SHOP_PAGES.items()}
        starts[BARE] = (bare_dir, bare_env, "/")
        runs = {name: [] for name in starts}
        for _ in range(args.runs):
            for name, (package_dir, env, path) in starts.items():
                runs[name].append(cold_start(package_dir, runtime, env, path=path))
        instructions = {}
        if args.instructions:
            instructions = {name: instructions_of_cold_start(package_dir, runtime, env, path=path, work=work)
                            for name, (package_dir, env, path) in starts.items()}
        if args.read_only:
            # Fresh folders, never run with bytecode writes: only what the package carries.
            untouched = {shop_dir: unzip(shop_zip, work / "shop-read-only"),
                         bare_dir: unzip(bare_zip, work / "bare-read-only")}
            read_only = {f"{name}{READ_ONLY}": (untouched[package_dir], env, path)
                         for name, (package_dir, env, path) in starts.items()}
            runs.update({name: [] for name in read_only})
            for _ in range(args.runs):
                for name, (package_dir, env, path) in read_only.items():
                    runs[name].append(cold_start(package_dir, runtime, env, path=path, python_flags=("-B",)))

    packages = {name: bare_zip if name.startswith(BARE) else shop_zip for name in runs}
    report(packages, runs, instructions)


def package_shop(work: Path) -> Path:
    venv = build_deploy_venv(work / "venv-shop")
    project = copy_repo(work / "shop")
    run_zappa(venv, "package", "dev", "-o", str(work / "shop.zip"), cwd=project, env=zappa_environment(venv))
    return work / "shop.zip"


def package_bare(work: Path) -> Path:
    """`django-admin startproject bare`, a view at /, and the shop's Zappa settings otherwise."""
    venv = work / "venv-bare"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    django_pin = next(line for line in (ROOT / "requirements.txt").read_text().splitlines()
                      if line.startswith("Django=="))
    zappa_pin = next(line for line in (ROOT / "requirements-deploy.txt").read_text().splitlines()
                     if line.startswith("zappa=="))
    subprocess.run([venv / "bin" / "pip", "install", "--quiet", django_pin, zappa_pin], check=True)
    project = work / "bare"
    project.mkdir()
    subprocess.run([venv / "bin" / "django-admin", "startproject", "bare", str(project)], check=True)
    (project / "bare" / "urls.py").write_text(textwrap.dedent("""
        from django.http import HttpResponse
        from django.urls import path

        urlpatterns = [path("", lambda request: HttpResponse("ok"))]
    """))
    settings = project / "bare" / "settings.py"
    # No translations: the shared exclusions leave Django's .mo files out, and with USE_I18N on
    # Django refuses to start without its default language's. The shop's package step adds the
    # en and ko catalogs back for the shop only: their cost is in the shop's figure.
    settings.write_text(settings.read_text() + '\nALLOWED_HOSTS = ["*"]\nDEBUG = False\nUSE_I18N = False\n')
    shop_stage = json.loads((ROOT / "zappa_settings.json").read_text())["dev"]
    stage = {key: shop_stage[key] for key in ("runtime", "aws_region", "exclude", "debug", "log_level")}
    stage.update(project_name="bare", django_settings="bare.settings", s3_bucket="bare-deploy")
    (project / "zappa_settings.json").write_text(json.dumps({"dev": stage}, indent=4))
    run_zappa(venv, "package", "dev", "-o", str(work / "bare.zip"), cwd=project, env=zappa_environment(venv))
    return work / "bare.zip"


def shop_environment(server, work: Path) -> dict[str, str]:
    import boto3

    s3 = boto3.client("s3")
    for bucket in ("bench-static", "bench-media"):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return container_env(
        **aws_environment_variables(server),
        DJANGO_SECRET_KEY="bench-" * 10,
        DATABASE_URL=f"sqlite:///{work / 'shop.sqlite3'}",
        DJANGO_ALLOWED_HOSTS=".execute-api.eu-west-1.amazonaws.com",
        CELERY_BROKER_URL="sqs://",
        CELERY_SQS_QUEUE_URL=f"{server.endpoint_url}/123456789012/bench-tasks",
        DJANGO_STORAGE="s3",
        DJANGO_STATIC_BUCKET="bench-static",
        DJANGO_MEDIA_BUCKET="bench-media",
        # As `make infra` sets them: the distribution in front of the (private) buckets.
        DJANGO_STATIC_DOMAIN="d111111abcdef8.cloudfront.net",
        DJANGO_MEDIA_DOMAIN="d111111abcdef8.cloudfront.net",
        STRIPE_SECRET_KEY="sk_test_bench",  # pragma: allowlist secret
        STRIPE_PUBLISHABLE_KEY="pk_test_bench",
        STRIPE_WEBHOOK_SECRET="whsec_bench",  # pragma: allowlist secret
    )


def prepare_shop(package_dir: Path, runtime: Path, env: dict[str, str]) -> None:
    """What `zappa manage` would do after a deploy: the schema, static files, a catalog."""
    with LambdaContainer(package_dir=package_dir, runtime=runtime, env=env) as container:
        for command in ("migrate --noinput", "collectstatic --noinput", "seed_catalog --products 24"):
            container.invoke({"manage": command})


def cold_start(package_dir: Path, runtime: Path, env: dict[str, str], *, path: str,
               python_flags: tuple[str, ...] = ()) -> float:
    with LambdaContainer(package_dir=package_dir, runtime=runtime, env=env,
                         python_flags=python_flags) as container:
        response, first_request = container.invoke(api_gateway_event("GET", path, host=HOST))
        if response["statusCode"] != 200:
            raise SystemExit(f"GET {path} answered {response['statusCode']}:\n{container.log_text()}")
        return container.import_seconds + first_request


def instructions_of_cold_start(package_dir: Path, runtime: Path, env: dict[str, str], *, path: str,
                               work: Path) -> int | None:
    """Instructions the container's process runs from its start to its exit after one request."""
    if shutil.which("valgrind") is None:
        return None
    log = work / "callgrind.log"
    callgrind = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", f"--log-file={log}")
    with LambdaContainer(package_dir=package_dir, runtime=runtime, env=env, wrapper=callgrind) as container:
        response, _ = container.invoke(api_gateway_event("GET", path, host=HOST))
        if response["statusCode"] != 200:
            raise SystemExit(f"GET {path} answered {response['statusCode']}:\n{container.log_text()}")
    return int(re.search(r"Collected : (\d+)", log.read_text())[1])


def unzipped_bytes(package: Path) -> int:
    # From the zip, not the unzipped folder: the runs write bytecode there (Lambda's is read-only).
    with zipfile.ZipFile(package) as archive:
        return sum(entry.file_size for entry in archive.infolist())


def report(packages: dict[str, Path], runs: dict[str, list[float]],
           instructions: dict[str, int | None]) -> None:
    counted = bool(instructions) and None not in instructions.values()
    print("| package | zipped MiB | unzipped MB | cold start median ms | min ms | max ms |"
          + (" instructions (G) |" if counted else ""))
    print("| --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if counted else ""))
    for name, package in packages.items():
        times = runs[name]
        count = f" {instructions[name] / 1e9:.3f} |" if name in instructions and counted else (
            " |" if counted else "")
        print(f"| {name} | {package.stat().st_size / MiB:.1f} | {unzipped_bytes(package) / 1e6:.1f} "
              f"| {statistics.median(times) * 1000:.0f} | {min(times) * 1000:.0f} | {max(times) * 1000:.0f} |"
              + count)
    print()
    bare = statistics.median(runs[BARE])
    for name, path in SHOP_PAGES.items():
        ratio = statistics.median(runs[name]) / bare
        line = f"cold start ratio shop/bare for {path}: {ratio:.2f} (target <= 1.3)"
        if counted:
            line += f"; in instructions {instructions[name] / instructions[BARE]:.2f}"
        print(line)
    if BARE + READ_ONLY in runs:
        bare = statistics.median(runs[BARE + READ_ONLY])
        for name, path in SHOP_PAGES.items():
            ratio = statistics.median(runs[name + READ_ONLY]) / bare
            print(f"read-only cold start ratio shop/bare for {path}: {ratio:.2f} (Lambda's case: no bytecode "
                  "written; the shop's package carries its own)")
    if instructions and not counted:
        print("instructions not counted: valgrind is not installed")
    print(f"runs each: {len(runs[BARE])}, alternated; "
          f"Python {sys.version.split()[0]} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
