"""Fixtures of the tests that cross apps: the apps' own, handed on, a worker's mail folder, and
the deploy venv once per run."""

import fcntl
import os
from pathlib import Path

import pytest

# A conftest.py cannot list pytest_plugins below the root, and the root conftest.py cannot load
# an app's conftest.py as a plugin (pytest registers that module again when it collects the
# app): importing the fixture makes it visible under tests/ as well.
from apps.orders.tests.conftest import order
from tests.zappa_support import build_deploy_venv

__all__ = ["deploy_venv", "mail_dir", "order"]


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    """Where a worker process started by the test writes its e-mails (one file each)."""
    return tmp_path / "mail"


@pytest.fixture(scope="session")
def deploy_venv(tmp_path_factory) -> Path:
    """tests.zappa_support's deploy venv, built once per run, not once per xdist worker.

    The Lambda package (group "aws") and test_zappa_deploy.py run on different workers; the
    first to ask builds the venv in the run's shared temporary folder while holding a file
    lock, and the other waits for the lock and uses it. Without xdist it is built as before.
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
