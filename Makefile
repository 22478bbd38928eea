# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_PRODUCTS ?= 48

.PHONY: run test lint venv clean

venv: $(VENV)/.installed

# Reinstalls whenever a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

run: venv
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_catalog --products $(DEMO_PRODUCTS)
	@# The worker (with beat, for the confirmation sweep) uses the embedded broker under var/;
	@# it stops with the server.
	$(BIN)/celery -A shop_project worker --beat --schedule var/celerybeat-schedule \
	  --loglevel INFO --concurrency 1 & trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/python manage.py runserver 127.0.0.1:8000

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) db.sqlite3 media var .pytest_cache
