"""pytest fixtures for the deploy path: the deploy venv, one `zappa package dev` zip, moto for Zappa.

The root conftest.py loads this module as a plugin: `deploy_venv` (session; the venv's path) and
`zappa_package` (session; the zip `zappa package dev -o` built from a copy of the repo).
`moto_server_for_zappa()` is a moto server with the single route moto lacks and `zappa update`
always calls, ListFunctionUrlConfigs, answered with no URLs. The machinery is devtools.zappa.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

import pytest

from devtools.sqs import MotoServer, moto_server
from devtools.zappa import STAGE, build_deploy_venv, copy_repo, run_zappa, zappa_environment


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
    """A moto server on loopback (devtools.sqs.moto_server) with ListFunctionUrlConfigsRoute.

    moto keeps its state per process, so this server shares it with the session's other moto
    servers; a deployment's names are fixed by the stage ("myshop-dev"), hence one deployment
    per process.
    """
    routes = []

    def with_route(app):
        routes.append(ListFunctionUrlConfigsRoute(app))
        return routes[0]

    with moto_server(wrap_app=with_route) as server:
        yield server, routes[0]


@pytest.fixture(scope="session")
def deploy_venv(tmp_path_factory) -> Path:
    """The deploy venv (requirements-deploy.txt, ~20 s with pip's cache), built once per run.

    The Lambda package (xdist group "aws") and test_zappa_deploy.py run on different xdist
    workers: the first to ask builds the venv in the run's shared temporary folder while holding
    a file lock, and the other waits for the lock and uses it.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return build_deploy_venv(tmp_path_factory.mktemp("deploy") / "venv")
    shared = tmp_path_factory.getbasetemp().parent  # one folder per run, above each worker's own
    venv, built = shared / "deploy-venv", shared / "deploy-venv.built"
    with open(shared / "deploy-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not built.exists():
            build_deploy_venv(venv)
            built.touch()
    return venv


@pytest.fixture(scope="session")
def zappa_package(deploy_venv, tmp_path_factory) -> Path:
    """The zip `zappa package dev -o` builds from a copy of the repo and the deploy venv."""
    root = tmp_path_factory.mktemp("zappa-package")
    project = copy_repo(root / "project")
    package = root / f"myshop-{STAGE}.zip"
    run_zappa(deploy_venv, "package", STAGE, "-o", str(package), cwd=project,
              env=zappa_environment(deploy_venv))
    return package
