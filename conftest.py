"""Test-wide rules: what a test needs from servers, what happens when they are missing, which
tests are slow (`make test-fast` leaves them out), and which share one xdist worker."""

import os
import socket
import subprocess

import pytest
from _pytest.nodeid import NodeId  # for pytest_collection_modifyitems_xdist_groups
from django.db import connection

# Fixtures shared across test modules: SQS on a moto server, the Zappa deploy venv and package,
# localstripe, and the Celery tasks a test published.
pytest_plugins = [
    "tests.support.sqs", "tests.support.zappa", "tests.support.stripe", "tests.support.published",
]

RABBITMQ_ADDRESS = ("127.0.0.1", 5672)

# What `make test-fast` (-m "not slow") leaves out: the tests that start servers or processes,
# build or run the Lambda package, or drive a browser. A test is slow when it has one of these
# markers, uses one of these fixtures (directly or through another fixture), or its node id
# starts with one of SLOW_TESTS. A test found by none of them must not start a process:
# _fast_tests_start_no_process fails it, in `make test` too.
SLOW_MARKERS = ("postgres", "rabbitmq", "browser")
SLOW_FIXTURES = {
    "live_server", "moto_sqs_server", "deploy_venv", "zappa_package", "localstripe_session_server",
}
SLOW_TESTS = (
    "tests/test_brokers.py",  # celery worker processes on real brokers
    "tests/test_compose.py",  # docker-compose config, the stack's commands run natively
    "tests/test_infra.py",  # cfn-lint, infra/deploy.py against moto
    "tests/test_lambda_package.py",
    "tests/test_lambda_worker.py::TestLambdaWorkerColdStart",  # a fresh interpreter per test
    "tests/test_production_settings.py",  # each test starts the settings in a fresh interpreter
    "tests/test_time_limits.py::TestTimeLimitsOfEachStage",  # the same
    "tests/security/test_content_security_policy.py::test_make_run_reports_the_policy_under_debug",
    "tests/test_zappa_deploy.py",
    "tests/security/test_static_analysis.py",  # bandit and detect-secrets over the repository
    "apps/payment/tests/test_cold_start_imports.py",  # a fresh interpreter
    "tests/test_startup.py::test_collections_are_rare_until_the_apps_are_ready_then_usual_again",  # the same
    # makemessages runs xgettext and msgmerge
    "tests/test_message_catalogs.py::test_every_translatable_string_in_the_code_is_in_the_catalogs",
)
# How `make test` (--dist loadgroup) shares the slow tests out between its xdist workers:
# - The Lambda package (tests.support.zappa's zappa_package, ~1 min to build) and the session's
#   moto server (its state lives in the process that runs it, and the tests peek at it): every
#   test that uses one of them is in the group "aws", run on one worker, so each is made once.
# - The deploy venv both the package and test_zappa_deploy need is built once per run by
#   whichever worker asks first, under a file lock (tests/support/zappa.py).
# - Any other slow test runs with the rest of its module, so that module-scoped fixtures (the
#   deployments of test_infra.py and test_zappa_deploy.py) are made once.
# Fast tests are shared out one by one.
AWS_GROUP_FIXTURES = {"moto_sqs_server", "zappa_package"}
AWS_GROUP = "aws"


def _xdist_group(item, fixtures: set[str]) -> str | None:
    if fixtures & AWS_GROUP_FIXTURES:
        return AWS_GROUP
    if item.get_closest_marker("slow") is not None:
        return item.nodeid.split("::", 1)[0]
    return None


def pytest_sessionstart(session):
    """The pages render from the compiled catalogs (.mo, never committed): build the stale ones."""
    from shop_project.catalogs import compile_catalogs

    compile_catalogs(only_stale=True)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group markers, and -m deselects
def pytest_collection_modifyitems(config, items):
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if (
            fixtures & SLOW_FIXTURES
            or any(item.get_closest_marker(name) for name in SLOW_MARKERS)
            or item.nodeid.startswith(SLOW_TESTS)
        ):
            item.add_marker(pytest.mark.slow)
        group = _xdist_group(item, fixtures)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


# trylast: after xdist has written the group into the node id.
@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_xdist_groups(config, items):
    """Make --dist loadgroup group on pytest 9.2 (pytest-xdist issue 1386, open).

    An xdist worker tells the scheduler an item's group by sending its node id as "<id>@<group>".
    pytest-xdist 3.8 writes that into item._nodeid, which pytest 9.2 no longer reads (node ids
    are structured, item._id), so every test would be scheduled on its own and each worker would
    build the Lambda package. This writes the same id where pytest 9.2 reads it.
    """
    if not getattr(config.option, "loadgroup", False):  # set in xdist workers under --dist loadgroup
        return
    for item in items:
        legacy = item.__dict__.get("_nodeid")
        if legacy and legacy != item.nodeid and hasattr(item, "_id"):
            item._id = NodeId.parse(legacy)
        if item.get_closest_marker("xdist_group") is not None and "@" not in item.nodeid:
            raise pytest.UsageError(f"--dist loadgroup would not group {item.nodeid}: see conftest.py")


@pytest.fixture(autouse=True)
def _fast_tests_start_no_process(request, monkeypatch):
    """A test that is not slow and starts a process fails, so that test-fast can trust the marker."""
    if request.node.get_closest_marker("slow") is not None:
        return

    def refuse(self, args, *more, **options):
        pytest.fail(
            f"{request.node.nodeid} started a process ({args!r}) but is not slow: "
            "add it to SLOW_TESTS in conftest.py (make test-fast leaves slow tests out)",
            pytrace=False,
        )

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


@pytest.fixture(autouse=True)
def _empty_cache():
    """The catalog pages read through the cache: no test sees the pages another one cached."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: LocaleMiddleware activates a request's language
    for the thread and never deactivates it, so a Korean request would leave the next test Korean
    (and its reverse() building Korean URLs)."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


def services_required() -> bool:
    """CI sets REQUIRE_SERVICES=1: a test whose server is missing fails there instead of skipping."""
    return os.environ.get("REQUIRE_SERVICES") == "1"


def _listening(address) -> bool:
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


def _missing_server(item) -> str | None:
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        return (
            "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/shop "
            f"(the tests run on {connection.vendor})"
        )
    if item.get_closest_marker("rabbitmq") and not _listening(RABBITMQ_ADDRESS):
        return "needs RabbitMQ on 127.0.0.1:5672 (guest/guest)"
    return None


def pytest_runtest_setup(item):
    reason = _missing_server(item)
    if reason is None:
        return
    if services_required():
        pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
    pytest.skip(reason)
