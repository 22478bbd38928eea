"""The real artifact: `zappa package dev`, unzipped and invoked as Lambda would invoke it.

The package is built from requirements.txt alone in a clean venv (devtools/zappa.py). It
runs in a subprocess whose sys.path holds only the package and what the Lambda runtime provides
(boto3, botocore), against moto for SQS, S3, SES and Secrets Manager and the test database.
`zappa manage` events run collectstatic and seed_catalog inside it; API Gateway events browse
and check out; an SQS event runs the confirmation through the worker entry, and the invoice
task renders the PDF invoice there (fpdf2, its font, fontTools without its C speed-ups). The
Stripe calls the shop makes run there too, against localstripe (tests/support/package_stripe_calls.py):
the package leaves out what of the SDK no call imports (its params TypedDicts), and carries
bytecode that a read-only cold start loads without compiling anything.
"""

import ast
import email
import io
import json
import re
import uuid
import zipfile
from datetime import timedelta
from importlib.util import MAGIC_NUMBER, cache_from_source
from pathlib import Path

import boto3
import django as django_module
import pytest
from django.core.management.utils import get_random_secret_key
from django.db import connection
from django.utils import timezone
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from pypdf import PdfReader

from apps.orders.models import ConfirmationStatus, Order, OrderStatus
from apps.orders.tests.checkout import hidden_fields
from apps.orders.tests.factories import CUSTOMER, OrderFactory, OrderItemFactory
from apps.payment.tests.conftest import KOREAN_CUSTOMER
from devtools.lambda_package import (
    Browser,
    LambdaContainer,
    api_gateway_event,
    container_env,
    runtime_dir,
    site_packages_of,
    unzip,
)
from devtools.localstripe import SECRET_KEY as STRIPE_SECRET_KEY
from devtools.sqs import aws_environment, aws_environment_variables, lambda_sqs_event, sqs_queue
from devtools.workers import worker_database_url
from infra.zappa_callbacks import BYTECODE_LEFT_OUT

API_HOST = "abc123defg.execute-api.eu-west-1.amazonaws.com"
CUSTOM_DOMAIN = "shop.example.com"
# The infra stack's files distribution (outputs StaticDomainName, MediaDomainName), which
# `make infra` writes into DJANGO_STATIC_DOMAIN and DJANGO_MEDIA_DOMAIN: the buckets are private.
FILES_DOMAIN = "d111111abcdef8.cloudfront.net"
# Where zappa_settings.json's dev stage points its SQS event source; moto's default account.
QUEUE_NAME = "myshop-dev-tasks"
FROM_ADDRESS = "shop@example.com"
# The issue's budgets for the package, and the PDF invoice's share of them.
MAX_ZIPPED_MIB = 30
MAX_UNZIPPED_MB = 100
INVOICE_PACKAGE_PATHS = ("fpdf", "fontTools/", "fonttools-", "defusedxml", "apps/payment/fonts/")
INVOICE_MAX_ZIPPED_MIB = 5
INVOICE_MAX_UNZIPPED_MB = 15
# What of the Stripe SDK zappa_settings.json leaves out: nothing the shop's calls import (shown
# by test_the_package_makes_the_stripe_calls_the_shop_makes and the import scan below).
STRIPE_LEFT_OUT = ("stripe.params",)
STRIPE_CALLS = Path(__file__).parent / "support" / "package_stripe_calls.py"
REPO_ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "whsec_package_test"  # pragma: allowlist secret (a test's own)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def package_dir(zappa_package, tmp_path_factory):
    return unzip(zappa_package, tmp_path_factory.mktemp("lambda-package"))


@pytest.fixture(scope="module")
def lambda_runtime(tmp_path_factory):
    return runtime_dir(site_packages_of(), tmp_path_factory.mktemp("lambda-runtime"))


@pytest.fixture
def aws(moto_sqs_server):
    """Moto as the function's AWS: the queue, the two buckets, an SES sender and the secret."""
    with aws_environment(moto_sqs_server), sqs_queue(moto_sqs_server, name=QUEUE_NAME) as queue:
        suffix = uuid.uuid4().hex[:8]  # the moto server outlives the test: names must not clash
        s3 = boto3.client("s3")
        buckets = {kind: f"myshop-dev-{kind}-{suffix}" for kind in ("static", "media")}
        for bucket in buckets.values():
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        boto3.client("ses").verify_email_identity(EmailAddress=FROM_ADDRESS)
        secret = boto3.client("secretsmanager").create_secret(
            Name=f"myshop-dev-app-{suffix}",
            SecretString=json.dumps({"DJANGO_SECRET_KEY": get_random_secret_key(),
                                     "DATABASE_URL": worker_database_url(),
                                     "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
                                     "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}),
        )
        yield {"server": moto_sqs_server, "queue": queue, "buckets": buckets, "secret_arn": secret["ARN"]}


def start_container(package_dir, lambda_runtime, aws, python_flags: tuple[str, ...] = (),
                    **extra: str) -> LambdaContainer:
    env = container_env(
        **aws_environment_variables(aws["server"]),
        DJANGO_SECRETS_ID=aws["secret_arn"],
        DJANGO_ALLOWED_HOSTS=f".execute-api.eu-west-1.amazonaws.com,{CUSTOM_DOMAIN}",
        DJANGO_DEFAULT_FROM_EMAIL=f"My Shop <{FROM_ADDRESS}>",
        CELERY_BROKER_URL="sqs://",
        CELERY_SQS_QUEUE_URL=aws["queue"].url,
        DJANGO_STORAGE="s3",
        DJANGO_STATIC_BUCKET=aws["buckets"]["static"],
        DJANGO_MEDIA_BUCKET=aws["buckets"]["media"],
        DJANGO_STATIC_DOMAIN=FILES_DOMAIN,
        DJANGO_MEDIA_DOMAIN=FILES_DOMAIN,
        STRIPE_PUBLISHABLE_KEY="pk_test_lambda-package",  # zappa_settings.json's
        **extra,
    )
    return LambdaContainer(package_dir=package_dir, runtime=lambda_runtime, env=env,
                           python_flags=python_flags)


@pytest.fixture
def container(package_dir, lambda_runtime, aws):
    with start_container(package_dir, lambda_runtime, aws) as running:
        yield running


@pytest.fixture
def stripe_container(package_dir, lambda_runtime, aws, localstripe_session_server):
    """The container with the SDK pointed at localstripe, as `make run` points it."""
    with start_container(package_dir, lambda_runtime, aws,
                         STRIPE_API_BASE=localstripe_session_server.api_base) as running:
        yield running


def manage(container, command: str) -> None:
    """What `zappa manage dev "<command>"` sends the function."""
    response, _ = container.invoke({"manage": command})
    assert "Error" not in str(response), response


def body_of(response: dict) -> str:
    assert response["statusCode"] == 200, (response["statusCode"], response.get("body", "")[:2000])
    return response["body"]


def test_the_package_carries_no_development_tree(package_dir):
    # The tests, benchmarks and their shared machinery (devtools/) are never shipped.
    top = {path.name for path in package_dir.iterdir()}
    assert "shop_project" in top and "apps" in top
    development = {"tests", "bench", "devtools", "infra"}
    assert not top & development, sorted(top & development)
    assert not list(package_dir.glob("apps/*/tests"))


def package_sizes(zappa_package, *tops: str) -> tuple[float, float]:
    """(MiB zipped, MB unzipped) of the package, or of what it holds under the `tops` paths."""
    with zipfile.ZipFile(zappa_package) as archive:
        entries = [entry for entry in archive.infolist() if entry.filename.startswith(tops or ("",))]
    # A zip entry costs its compressed data plus its two headers (about 76 bytes and the name twice).
    zipped = sum(entry.compress_size + 76 + 2 * len(entry.filename) for entry in entries)
    if not tops:
        zipped = zappa_package.stat().st_size
    return zipped / 2**20, sum(entry.file_size for entry in entries) / 1e6


def test_the_pdf_invoice_keeps_within_its_share_of_the_package(zappa_package):
    zipped_mib, unzipped_mb = package_sizes(zappa_package)
    share_mib, share_mb = package_sizes(zappa_package, *INVOICE_PACKAGE_PATHS)
    print(f"Lambda package: {zipped_mib:.1f} MiB zipped, {unzipped_mb:.1f} MB unzipped; the PDF invoice "
          f"(fpdf2, fontTools, defusedxml, fonts) {share_mib:.1f} MiB, {share_mb:.1f} MB of it")
    assert share_mib <= INVOICE_MAX_ZIPPED_MIB
    assert share_mb <= INVOICE_MAX_UNZIPPED_MB


def test_the_package_is_within_the_issues_size_budgets(zappa_package):
    # Since the Stripe SDK this holds only with pip's bytecode (__pycache__, ~15 MiB zipped, which
    # Lambda could not use: its recorded source mtimes never match the package's) and the SDK's
    # params TypedDicts left out (zappa_settings.json "exclude" and "exclude_glob"), and the
    # bytecode the package does carry leaving out the largest libraries that only some requests
    # import (infra/zappa_callbacks.py, BYTECODE_LEFT_OUT).
    zipped_mib, unzipped_mb = package_sizes(zappa_package)
    print(f"Lambda package: {zipped_mib:.2f} MiB zipped (budget {MAX_ZIPPED_MIB} MiB), "
          f"{unzipped_mb:.2f} MB unzipped (budget {MAX_UNZIPPED_MB} MB)")
    assert zipped_mib <= MAX_ZIPPED_MIB
    assert unzipped_mb <= MAX_UNZIPPED_MB


def test_the_package_carries_no_stripe_params(zappa_package):
    with zipfile.ZipFile(zappa_package) as archive:
        names = archive.namelist()
    assert [name for name in names if name.startswith("stripe/params/")] == []
    assert "stripe/_payment_intent_service.py" in names


def test_the_package_carries_unchecked_bytecode_for_its_modules_and_none_of_pips(zappa_package):
    with zipfile.ZipFile(zappa_package) as archive:
        names = set(archive.namelist())
        bytecode = {name: archive.read(name)[:8] for name in names if name.endswith(".pyc")}
    expected = {cache_from_source(name) for name in names
                if name.endswith(".py") and not name.startswith(BYTECODE_LEFT_OUT)}
    # What does not compile (a template some package ships as .py) has none: at most a few.
    missing = expected - set(bytecode)
    assert len(missing) <= 5, sorted(missing)
    # Nothing else: pip's __pycache__ would be stale (Zappa dates every file 1980-01-01).
    assert set(bytecode) <= expected, sorted(set(bytecode) - expected)[:10]
    # PEP 552 header: this Python's magic number, then flags 0b01 (hash-based, source not checked).
    headers = {header for header in bytecode.values()}
    assert headers == {MAGIC_NUMBER + (1).to_bytes(4, "little")}, headers


def test_a_read_only_cold_start_loads_the_packaged_bytecode_and_compiles_nothing(
        zappa_package, lambda_runtime, aws, tmp_path):
    # As on Lambda, whose /var/task is read-only: Python writes no bytecode (-B), and -v names
    # where each module's code came from: "code object from '<pyc>'" or "code object from <py>".
    fresh = unzip(zappa_package, tmp_path / "package")
    with start_container(fresh, lambda_runtime, aws, python_flags=("-B", "-v")) as cold:
        body_of(cold.invoke(api_gateway_event("GET", "/en/", host=API_HOST))[0])
        loads = [line.removeprefix("# code object from ") for line in cold.logs
                 if line.startswith("# code object from ")]
    from_the_package = [load for load in loads if str(fresh) in load]
    compiled = [load for load in from_the_package if load.endswith(".py")]
    assert compiled == []
    assert len(from_the_package) > 500  # the handler, Django, the shop: all from bytecode


def runtime_imports(path: Path) -> set[str]:
    """The modules `path` imports other than under `if TYPE_CHECKING:` (absolute imports only)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in {getattr(child.test, "id", None),
                                                                 getattr(child.test, "attr", None)}:
                for statement in child.orelse:
                    visit_statement(statement)
                continue
            visit_statement(child)

    def visit_statement(statement: ast.AST) -> None:
        if isinstance(statement, ast.Import):
            found.update(alias.name for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
            found.add(statement.module)
            found.update(f"{statement.module}.{alias.name}" for alias in statement.names)
        elif isinstance(statement, ast.Constant) and isinstance(statement.value, str):
            found.add(statement.value)  # import_module("stripe.x") and stripe's lazy _import_map
        visit(statement)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def test_nothing_in_the_package_imports_what_it_leaves_out_of_stripe(package_dir):
    # The calls test below runs the calls the shop makes today; this catches any other code path
    # (a new view, a newer SDK) that would import stripe.params at run time and fail only on Lambda.
    # stripe/__init__.py names it once, in its lazy _import_map (only `stripe.params` reads it).
    offenders = {}
    for path in [*package_dir.glob("apps/**/*.py"), *package_dir.glob("shop_project/**/*.py"),
                 *package_dir.glob("stripe/**/*.py")]:
        left_out = {name for name in runtime_imports(path) if name.startswith(STRIPE_LEFT_OUT)}
        if left_out and path != package_dir / "stripe" / "__init__.py":
            offenders[str(path.relative_to(package_dir))] = sorted(left_out)
    assert offenders == {}
    assert runtime_imports(package_dir / "stripe" / "__init__.py") & {"stripe.params"} == {"stripe.params"}


def test_the_package_carries_the_invoice_font_and_no_fonttools_c_code(package_dir):
    # fontTools' compiled speed-ups (and their C sources) are 12 MB the subsetter does without.
    fonts = package_dir / "apps" / "payment" / "fonts"
    assert sorted(path.name for path in fonts.iterdir()) == [
        "DejaVuSans-LICENSE.txt", "DejaVuSans.ttf", "NanumSquareR-OFL.txt", "NanumSquareR.ttf"
    ]
    assert (package_dir / "fontTools" / "subset" / "__init__.py").is_file()
    assert sorted(package_dir.glob("fontTools/**/*.so")) + sorted(package_dir.glob("fontTools/**/*.c")) == []


def test_the_package_carries_the_manifest_collectstatic_writes_to_s3(container, aws, package_dir):
    # The manifest spares a cold start an S3 read (shop_project.storages); it must be the same.
    manage(container, "collectstatic --noinput")
    on_s3 = boto3.client("s3").get_object(Bucket=aws["buckets"]["static"], Key="staticfiles.json")
    packaged = json.loads((package_dir / "shop_project" / "staticfiles.json").read_text())["paths"]
    on_s3 = json.loads(on_s3["Body"].read())["paths"]
    # Every file collected on S3 has the same hashed name in the packaged manifest. The packaged
    # one, built from the full sources, also names admin/img/gis/*, which the package excludes.
    assert on_s3.items() <= packaged.items()
    assert {path.split("/")[2] for path in packaged.keys() - on_s3.keys()} <= {"gis"}


def test_the_package_serves_the_shop_and_its_worker_sends_the_confirmation(container, aws):
    assert connection.vendor in {"postgresql", "sqlite"}
    s3 = boto3.client("s3")

    # zappa manage dev "collectstatic --noinput": hashed names, cached for a year, on the static bucket.
    manage(container, "collectstatic --noinput")
    static_keys = {o["Key"] for o in s3.list_objects_v2(Bucket=aws["buckets"]["static"])["Contents"]}
    stylesheet = next(k for k in static_keys if re.fullmatch(r"css/base\.[0-9a-f]{12}\.css", k))
    assert "staticfiles.json" in static_keys
    head = s3.head_object(Bucket=aws["buckets"]["static"], Key=stylesheet)
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    assert head["ContentType"] == "text/css"

    # zappa manage dev seed_catalog: product images go to the media bucket.
    manage(container, "seed_catalog --products 3")
    media = s3.list_objects_v2(Bucket=aws["buckets"]["media"])["Contents"]
    assert len(media) == 3
    image = s3.head_object(Bucket=aws["buckets"]["media"], Key=media[0]["Key"])
    assert media[0]["Key"].startswith("products/")
    assert image["ContentType"] == "image/png"
    assert image["CacheControl"] == "public, max-age=86400"

    shopper = Browser(container, host=API_HOST, stage="dev")
    home = body_of(shopper.request("GET", "/en/"))
    # Links carry the API Gateway stage; assets come from the buckets through the distribution
    # (its default behaviour is the static bucket, products/* the media bucket).
    product_path = re.search(r'href="/dev(/en/\d+/[\w-]+/)"', home).group(1)
    assert f"https://{FILES_DOMAIN}/{stylesheet}" in home
    assert f"https://{FILES_DOMAIN}/{media[0]['Key']}" in home
    assert ".s3.eu-west-1.amazonaws.com" not in home

    product_page = body_of(shopper.request("GET", product_path))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', product_page).group(1)
    product_id = product_path.split("/")[2]
    added = shopper.request("POST", f"/en/cart/add/{product_id}/",
                            form={"csrfmiddlewaretoken": token, "quantity": "2", "override": "False"})
    assert added["statusCode"] == 302
    assert added["headers"]["Location"] == "/dev/en/cart/"
    assert "2 items" in body_of(shopper.request("GET", "/en/cart/"))

    checkout = body_of(shopper.request("GET", "/en/orders/create/"))
    # The CSRF token and what the page showed, as the browser posts them back.
    placed = shopper.request("POST", "/en/orders/create/", form={**hidden_fields(checkout), **CUSTOMER})
    assert placed["statusCode"] == 302, placed.get("body", "")[:2000]
    order = Order.objects.get()
    assert placed["headers"]["Location"] == f"/dev/en/payment/process/?order={order.id}"
    assert f"<strong class=\"order-number\">{order.id}</strong>" in body_of(
        shopper.request("GET", f"/en/orders/created/{order.id}/")
    )
    assert order.confirmation_status == ConfirmationStatus.QUEUED

    # The checkout published to SQS; the same function, fed the SQS event, sends the e-mail via SES.
    messages = aws["queue"].receive()
    assert len(messages) == 1
    response, _ = container.invoke(lambda_sqs_event(messages, queue=aws["queue"]))
    assert response == {"batchItemFailures": []}
    order.refresh_from_db()
    assert order.confirmation_status == ConfirmationStatus.SENT, container.log_text()
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages  # the moto server's own record
    assert [m.raw_data.count(f"Subject: Your order {order.id} at My Shop") for m in sent] == [1]


def expected_catalogs(package_dir) -> set[str]:
    """en and ko only: the shop's (compiled by the package step) and Django's, its contrib apps' too."""
    languages = ("en", "ko")
    shop_dirs = ["locale", *sorted({po.parents[2].relative_to(REPO_ROOT).as_posix()
                                    for po in REPO_ROOT.glob("apps/*/locale/*/LC_MESSAGES/django.po")})]
    shop = {f"{folder}/{language}/LC_MESSAGES/django.mo" for folder in shop_dirs for language in languages}
    contrib = package_dir / "django" / "contrib"
    django_dirs = ["django/conf", *(f"django/contrib/{app.name}" for app in contrib.iterdir()
                                    if (app / "__init__.py").exists())]
    site_packages = Path(django_module.__file__).parent.parent
    django = {
        mo.relative_to(site_packages).as_posix()
        for folder in django_dirs for language in languages
        for mo in (site_packages / folder / "locale" / language / "LC_MESSAGES").glob("*.mo")
    }
    return shop | django


def test_the_package_carries_exactly_the_en_and_ko_catalogs(zappa_package, package_dir):
    with zipfile.ZipFile(zappa_package) as archive:
        names = archive.namelist()
    catalogs = sorted(name for name in names if "/LC_MESSAGES/" in name and name.endswith(".mo"))
    print("\n".join(["catalogs in the package:", *catalogs]))

    assert set(catalogs) == expected_catalogs(package_dir)
    assert "django/conf/locale/ko/LC_MESSAGES/django.mo" in catalogs
    assert "locale/ko/LC_MESSAGES/django.mo" in catalogs
    assert len(catalogs) == len(set(catalogs))
    assert [name for name in names if name.endswith((".po", ".pot"))] == []
    assert not [name for name in names if name.startswith("polib")]


def test_a_korean_page_renders_from_the_package(container, aws):
    manage(container, "collectstatic --noinput")
    manage(container, "seed_catalog --products 1")
    shopper = Browser(container, host=API_HOST, stage="dev")

    first = shopper.request("GET", "/", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    korean = body_of(shopper.request("GET", "/ko/"))
    missing = shopper.request("GET", "/ko/no/such/page/")

    assert (first["statusCode"], first["headers"]["Location"]) == (302, "/dev/ko/")
    assert '<html lang="ko">' in korean and "서버리스로 운영되는 장고 쇼핑몰" in korean
    assert missing["statusCode"] == 404 and "페이지를 찾을 수 없습니다" in missing["body"]


def test_links_have_no_stage_prefix_on_a_custom_domain(container, aws):
    manage(container, "collectstatic --noinput")
    manage(container, "seed_catalog --products 1")
    home = body_of(Browser(container, host=CUSTOM_DOMAIN).request("GET", "/en/"))
    assert re.search(r'href="/en/\d+/[\w-]+/"', home)
    assert 'href="/dev/' not in home


def test_plain_http_is_redirected_to_https(container):
    event = api_gateway_event("GET", "/", host=API_HOST, headers={"X-Forwarded-Proto": "http"})
    response, _ = container.invoke(event)
    assert response["statusCode"] == 301
    assert response["headers"]["Location"] == f"https://{API_HOST}/dev/"


def test_the_package_makes_the_stripe_calls_the_shop_makes(stripe_container):
    # Run as `zappa invoke --raw` runs code: in the function, with only the package on sys.path.
    source = STRIPE_CALLS.read_text(encoding="utf-8")
    command = f"exec(compile({source!r}, {STRIPE_CALLS.name!r}, 'exec'), {{'__name__': 'stripe_calls'}})"
    _, seconds = stripe_container.invoke({"raw_command": command})
    lines = [line for line in stripe_container.logs if line.startswith("@@stripe-calls@@ ")]
    assert len(lines) == 1, stripe_container.log_text()
    calls = json.loads(lines[0].removeprefix("@@stripe-calls@@ "))
    print(f"Stripe calls in the package: {seconds * 1000:.0f} ms; "
          f"modules loaded: {' '.join(calls['modules'])}")

    assert calls["customer"][0].startswith("cus_") and calls["customer"][1] == "김민준"
    assert calls["setup_intent"][0].startswith("seti_")
    assert calls["payment_method"][0].startswith("pm_") and calls["payment_method"][1] == "4242"
    intent = calls["payment_intent"]
    assert intent["id"].startswith("pi_")
    assert intent["metadata"] == {"order_id": "41", "attempt": "2"}
    assert intent["confirmed"] == "succeeded"
    assert intent["retrieved"] == ["succeeded", 1990, "usd"]
    assert calls["refund"] == {"status": "succeeded", "amount": 1990, "listed": [True]}
    assert calls["canceled"] == ["canceled", "canceled"]
    expected_event = ["payment_intent.succeeded", intent["id"], "41"]
    assert calls["webhook"] == [expected_event, expected_event]
    assert calls["errors"] == {"InvalidRequestError": 404, "CardError": "card_declined",
                               "SignatureVerificationError": "tampered",
                               "SignatureVerificationError (wrong secret)": "refused"}
    assert "stripe._payment_intent_service" in calls["modules"]
    assert not [name for name in calls["modules"] if name.startswith(STRIPE_LEFT_OUT)]


# Last in the module: moto's SES keeps every message of the session, and the confirmation's test
# above counts what it finds there.
def test_the_package_sweeps_and_sends_the_pdf_invoice_of_a_paid_order(container, aws):
    # Paid ten minutes ago, and its task never queued (the broker was down): the scheduled sweep
    # publishes it, and the worker entry renders the PDF and sends it through SES.
    order = OrderFactory(**KOREAN_CUSTOMER, status=OrderStatus.PAID, paid=True,
                         confirmation_status=ConfirmationStatus.SENT,
                         invoice_due_at=timezone.now() - timedelta(minutes=10))
    OrderItemFactory.create_batch(3, order=order)

    swept, _ = container.invoke({"command": "apps.orders.lambda_handlers.confirmations_sweep_handler"})
    assert swept == {"published": 0, "invoices_published": 1}, container.log_text()
    messages = aws["queue"].receive()
    assert len(messages) == 1
    response, seconds = container.invoke(lambda_sqs_event(messages, queue=aws["queue"]))
    assert response == {"batchItemFailures": []}
    print(f"invoice task in the package: {seconds * 1000:.0f} ms (render and send)")
    order.refresh_from_db()
    assert order.invoice_status == ConfirmationStatus.SENT, container.log_text()

    sent = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
    [raw] = [m.raw_data for m in sent if f"Invoice no. {order.id}" in m.raw_data]
    [attachment] = [part for part in email.message_from_string(raw).walk()
                    if part.get_filename() == f"invoice_{order.id}.pdf"]
    assert attachment.get_content_type() == "application/pdf"
    text = PdfReader(io.BytesIO(attachment.get_payload(decode=True))).pages[0].extract_text()
    assert "민준 김" in text
    assert KOREAN_CUSTOMER["address"] in text
    assert re.search(rf"^Total {order.get_total_cost()} USD$", text, re.MULTILINE), text
