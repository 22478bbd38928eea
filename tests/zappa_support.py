"""Zappa for tests: the deploy venv, a `zappa package dev` zip, and Zappa's CLI against moto.

- `build_deploy_venv(path)`: a clean Python 3.11 venv with requirements-deploy.txt (the runtime
  packages and Zappa), as `make deploy-venv` builds it. Zappa packages the venv it runs in, so
  this, not the developer's .venv, is what a test must run Zappa from.
- `copy_repo(dest)`: the project as Zappa sees it from a checkout, without the developer's
  venvs, caches and local data. Zappa writes its zip and CloudFormation template into the
  working directory, and infra/deploy.py rewrites zappa_settings.json: both happen in the copy.
- `run_zappa(venv, *args, cwd=..., env=...)`: the `zappa` command of that venv, with
  `zappa_environment()`: only that venv (VIRTUAL_ENV is how Zappa finds what to package), and
  boto3 pointed at moto, or at nothing at all for commands that must not reach AWS.
- `moto_server_for_zappa()`: a moto server on loopback with the single route moto lacks and
  `zappa update` always calls, ListFunctionUrlConfigs, answered with no URLs.

Fixtures (the root conftest.py loads this module as a plugin): `deploy_venv` (session; the
venv's path) and `zappa_package` (session; the path of the zip `zappa package dev -o` built
from a copy of the repo).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

import pytest
from moto.server import ThreadedMotoServer

from tests.sqs_support import REGION, MotoServer, aws_environment_variables

REPO = Path(__file__).resolve().parents[1]
DEPLOY_REQUIREMENTS = REPO / "requirements-deploy.txt"
STAGE = "dev"
# The Lambda runtime of zappa_settings.json; the venv Zappa packages must be the same Python.
PYTHON_VERSION = (3, 11)
# Seconds; a Zappa command on moto takes about 20 (mostly packaging a 24 MiB zip).
ZAPPA_TIMEOUT = 300
# Where commands that need no AWS send boto3: the discard port on loopback, closed.
NO_AWS = MotoServer(endpoint_url="http://127.0.0.1:9", region=REGION)

# What a copy of the repo leaves out: the developer's environments, caches, local data and
# secrets (.env), and Zappa's leftovers. Zappa's "exclude" keeps all of it out of the package
# anyway; not copying it saves time (the dev .venv alone is hundreds of MB).
_LEFT_OUT_AT_THE_TOP = {
    ".git", ".pytest_cache", ".ruff_cache", ".env", "var", "media", "staticfiles", "test-artifacts",
    "db.sqlite3",
}
_LEFT_OUT_EVERYWHERE = shutil.ignore_patterns(
    "__pycache__", ".venv*", "node_modules", "myshop-*.zip", "handler_myshop-*", "myshop-*-template-*.json",
)


def _left_out(directory: str, names: list[str]) -> set[str]:
    left_out = set(_LEFT_OUT_EVERYWHERE(directory, names))
    if Path(directory) == REPO:
        left_out |= _LEFT_OUT_AT_THE_TOP.intersection(names)
    return left_out


def deploy_python() -> str:
    """A Python 3.11 to build the deploy venv with: this one if it is 3.11, else python3.11."""
    if sys.version_info[:2] == PYTHON_VERSION:
        return sys.executable
    version = "{}.{}".format(*PYTHON_VERSION)
    found = shutil.which(f"python{version}")
    if found is None:
        pytest.fail(f"the deploy venv needs Python {version} (the Lambda runtime); none found")
    return found


def build_deploy_venv(path: Path) -> Path:
    """`python3.11 -m venv path` and requirements-deploy.txt in it; returns path."""
    run_command([deploy_python(), "-m", "venv", str(path)], timeout=120)
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    run_command([*pip, "-r", str(DEPLOY_REQUIREMENTS)], timeout=600)
    return path


def copy_repo(dest: Path) -> Path:
    """The working tree (tracked or not, as it is now) without venvs, caches and local data."""
    shutil.copytree(REPO, dest, ignore=_left_out, symlinks=True)
    return dest


def zappa_environment(venv: Path, server: MotoServer | None = None) -> dict[str, str]:
    """The environment to run the venv's `zappa` in.

    Zappa packages the venv named by VIRTUAL_ENV (without it, pyenv's Python), so that must be
    the deploy venv whatever venv runs the tests. boto3 is pointed at `server`, or, when there
    is none (packaging needs no AWS), at a closed loopback port, so that nothing can reach AWS.
    Credentials are dummies, and whatever else of the developer's could redirect boto3 (a
    profile, per-service endpoints, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS) is dropped.
    """
    env = {
        name: value for name, value in os.environ.items()
        if not name.startswith(("AWS_", "DJANGO_", "CELERY_")) and name not in ("PYTHONPATH", "PYTHONHOME")
    }
    env.update(aws_environment_variables(server or NO_AWS))
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"  # Zappa mixes print() and logging; keep them in order
    return env


def run_zappa(venv: Path, *args: str, cwd: Path, env: dict[str, str]) -> str:
    """`zappa <args> --disable_progress` in cwd; its output, or a failure that shows it."""
    command = [str(venv / "bin" / "zappa"), *args, "--disable_progress"]
    return run_command(command, cwd=cwd, env=env, timeout=ZAPPA_TIMEOUT)


def run_command(command: list[str], *, timeout: float, **kwargs) -> str:
    """Run it; its stdout and stderr, or a test failure that shows them."""
    started = time.monotonic()
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired as error:
        output = (error.stdout or "") + (error.stderr or "")
        pytest.fail(f"{' '.join(command)} took more than {timeout} s:\n{output}")
    output = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed (exit {result.returncode}, "
                    f"{time.monotonic() - started:.0f} s):\n{output}")
    return output


# moto ------------------------------------------------------------------------------------------


class ListFunctionUrlConfigsRoute:
    """WSGI middleware answering Lambda's ListFunctionUrlConfigs with no URLs; moto lacks it.

    `zappa update` always calls it (to delete function URLs when "function_url_enabled" is off);
    the function has none, so an empty list is what AWS answers too. Every other request, and
    every other method on this path, goes to moto. `calls` records the function names asked for.
    """

    PATH = re.compile(r"^/2021-10-31/functions/(?P<function>[^/]+)/urls/?$")

    def __init__(self, app):
        self.app = app
        self.calls: list[str] = []

    def __call__(self, environ, start_response):
        match = self.PATH.match(environ.get("PATH_INFO", ""))
        if environ.get("REQUEST_METHOD") != "GET" or match is None:
            return self.app(environ, start_response)
        self.calls.append(unquote(match["function"]))
        body = json.dumps({"FunctionUrlConfigs": []}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


@contextmanager
def moto_server_for_zappa() -> Iterator[tuple[MotoServer, ListFunctionUrlConfigsRoute]]:
    """A moto server on loopback, like sqs_support.moto_server(), with ListFunctionUrlConfigsRoute.

    The route is put in front of moto's app on the running server (werkzeug's server reads
    `app` on every request). moto keeps its state per process, so this server shares it with
    the session's other moto servers; a deployment's names are fixed by the stage ("myshop-dev"),
    hence one deployment per process.
    """
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)  # an access-log line per request would bury a failure
    threaded = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    threaded.start()
    try:
        wsgi_server = threaded._server
        route = ListFunctionUrlConfigsRoute(wsgi_server.app)
        wsgi_server.app = route
        host, port = threaded.get_host_and_port()
        yield MotoServer(endpoint_url=f"http://{host}:{port}", region=REGION), route
    finally:
        threaded.stop()
        werkzeug.setLevel(level)


# Fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def deploy_venv(tmp_path_factory) -> Path:
    """The deploy venv (requirements-deploy.txt), built once per session (~20 s with pip's cache)."""
    return build_deploy_venv(tmp_path_factory.mktemp("deploy") / "venv")


@pytest.fixture(scope="session")
def zappa_package(deploy_venv, tmp_path_factory) -> Path:
    """The zip `zappa package dev -o` builds from a copy of the repo and the deploy venv."""
    root = tmp_path_factory.mktemp("zappa-package")
    project = copy_repo(root / "project")
    package = root / f"myshop-{STAGE}.zip"
    run_zappa(deploy_venv, "package", STAGE, "-o", str(package), cwd=project,
              env=zappa_environment(deploy_venv))
    return package
