# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_PRODUCTS ?= 48

DEPLOY_VENV := .venv-deploy
CHECKOV_VENV := .venv-checkov

.PHONY: run test test-fast fuzz lint messages catalogs bench venv deploy-venv checkov-venv checkov infra clean

venv: $(VENV)/.installed

# Reinstalls whenever a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-container.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# The .mo files, from the .po files, where a .po is newer (pure Python: no GNU gettext needed).
catalogs: venv
	$(BIN)/python manage.py compile_catalogs --stale

# After adding or changing a translatable string: every catalog (locale/, apps/*/locale/) again
# from the code, without locations; the en entries get their English. Translate the new ko
# entries; nothing needs compiling by hand. Needs GNU gettext (apt-get install gettext).
messages: venv
	$(BIN)/python manage.py update_catalogs

run: venv catalogs
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_catalog --products $(DEMO_PRODUCTS) --demo-data
	@# localstripe (a fake Stripe, on 127.0.0.1:8420, its log in var/localstripe.log) and the
	@# worker (with beat, for the confirmation sweep; the embedded broker under var/) run next
	@# to the server and stop with it; once both servers answer, the shop's webhook is
	@# registered with localstripe (manage.py localstripe_webhook).
	@mkdir -p var
	$(BIN)/localstripe --port 8420 --from-scratch >var/localstripe.log 2>&1 & LOCALSTRIPE=$$!; \
	  $(BIN)/celery -A shop_project worker --beat --schedule var/celerybeat-schedule \
	  --loglevel INFO --concurrency 1 & WORKER=$$!; \
	  trap 'kill $$WORKER $$LOCALSTRIPE 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/python manage.py localstripe_webhook & \
	  $(BIN)/python manage.py runserver 127.0.0.1:8000

# Every test, on TEST_WORKERS xdist workers (pytest-django gives each its own test database).
# --dist loadgroup: the tests that share the Lambda package and the moto server run on one
# worker (conftest.py, xdist_group "aws"), so each is made once per run; the deploy venv is
# built once under a file lock (tests/support/zappa.py).
TEST_WORKERS ?= 2
test: venv checkov-venv catalogs
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# The inner loop: unit and view tests only, in one process; no servers, processes, browser or
# Lambda package (the `slow` marker, set in conftest.py), the sweep at its smallest budget.
test-fast: venv catalogs
	HYPOTHESIS_PROFILE=dev $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# The bad-input sweep at 10,000 examples with a random seed (`make test` runs 500, seeded;
# tests/fuzz/conftest.py has the profiles).
fuzz: venv
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/fuzz -q

lint: venv
	$(BIN)/ruff check .

# Every benchmark into bench/results.md and bench/results.png (bench/README.md), ~5 min.
# Needs PostgreSQL on 127.0.0.1:5432 and wrk; BENCH_ARGS=--reuse-db keeps the seeded database.
bench: $(VENV)/.bench-installed
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install -y wrk" >&2; exit 2; }
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

# make bench's chart library, into the same venv, only for make bench.
$(VENV)/.bench-installed: requirements-bench.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	touch $@

# Zappa packages the venv it runs in: this one holds the runtime packages and Zappa only.
# Use it for every zappa command: . $(DEPLOY_VENV)/bin/activate && zappa update dev
deploy-venv: $(DEPLOY_VENV)/.installed

$(DEPLOY_VENV)/.installed: requirements.txt requirements-deploy.txt
	test -x $(DEPLOY_VENV)/bin/python || $(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet -r requirements-deploy.txt
	touch $@

# checkov (infrastructure-as-code scanner) pins older boto3, botocore and packaging than
# requirements-dev.txt, so it lives in a venv of its own; tests/test_infra.py runs it from there.
checkov-venv: $(CHECKOV_VENV)/.installed

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

# infra/ scanned offline (infra/checkov.yaml); every skip is a comment on its resource.
checkov: checkov-venv
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --config-file infra/checkov.yaml --compact --quiet

# The AWS resources Zappa does not create, for one stage (infra/README.md); ALARM_EMAIL=you@example.com
# subscribes an address to its alarms (kept on later runs without it).
# boto3 honours AWS_ENDPOINT_URL, so this deploys to a moto server too.
infra: venv
	@test -n "$(STAGE)" || { echo "usage: make infra STAGE=dev|production" >&2; exit 2; }
	$(BIN)/python infra/deploy.py --stage $(STAGE) $(if $(ALARM_EMAIL),--alarm-email $(ALARM_EMAIL))

clean:
	rm -rf $(VENV) $(DEPLOY_VENV) $(CHECKOV_VENV) db.sqlite3 media var .pytest_cache .hypothesis
