# Two commands matter: `make run` and `make test`. Both set up everything first.
PYTHON ?= python3
MIN_PYTHON := 3.11
VENV := .venv
BIN := $(VENV)/bin
# The interpreter's tag (e.g. cpython-311); empty when PYTHON is missing or older than MIN_PYTHON.
PY_TAG := $(shell $(PYTHON) -c 'import sys; print(sys.implementation.cache_tag if sys.version_info >= (3, 11) else "")' 2>/dev/null)
ifeq ($(PY_TAG),)
$(error Pre-session Manager needs Python $(MIN_PYTHON) or newer, and "$(PYTHON)" is $(or $(shell $(PYTHON) --version 2>&1),not installed). Choose another one, for example: make run PYTHON=python3.11)
endif
# One stamp per interpreter and requirements file's contents: another Python or a changed pin reinstalls.
STAMP := $(VENV)/.installed-prod-$(PY_TAG)-$(shell cksum requirements.txt | cut -d" " -f1)
DEV_STAMP := $(VENV)/.installed-dev-$(PY_TAG)-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d" " -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install install-dev run test lint worker beat messages bench faults smoke

# What production needs (requirements.txt): `make run` installs only this.
$(STAMP): requirements.txt
	@if [ -e $(BIN)/python ] && [ "$$($(BIN)/python -c 'import sys; print(sys.implementation.cache_tag)' 2>/dev/null)" != "$(PY_TAG)" ]; then \
		echo "$(VENV) was made with another Python: making it again with $(PYTHON)."; rm -rf $(VENV); fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing what production needs (requirements.txt). The first time takes a few minutes."
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -r requirements.txt
	rm -f $(VENV)/.installed-prod-*
	touch $(STAMP)

# Test, lint and benchmark tools on top (requirements-dev.txt).
$(DEV_STAMP): $(STAMP) requirements-dev.txt
	@echo "Installing the test, lint and benchmark tools (requirements-dev.txt)."
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -r requirements-dev.txt
	rm -f $(VENV)/.installed-dev-*
	touch $(DEV_STAMP)

install: $(STAMP)
	mkdir -p var/staticfiles var/mail
	$(BIN)/python manage.py compiletranslations

install-dev: install $(DEV_STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py load_demo
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl+C to stop)"
	SITE_URL=http://$(HOST):$(PORT) $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install-dev
	$(BIN)/python -m pytest

# The fault-injection suite: the whole stack on loopback (its own PostgreSQL, Redis, nginx, gunicorn,
# Celery worker and beat, an SMTP sink), each part failed in turn during a burst of submissions.
faults: install-dev
	FAULTS=1 $(BIN)/python -m pytest tests/faults -p no:cacheprovider -q

# The production smoke test: deploy/README.md's steps on loopback (nginx with TLS, gunicorn, worker,
# beat, PostgreSQL, Redis, an SMTP sink), then a visit over HTTPS and the readiness check.
smoke: install-dev
	SMOKE=1 $(BIN)/python -m pytest tests/deploy/test_production.py -p no:cacheprovider -q

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/config/test_layers.py

worker: install
	$(BIN)/celery -A config worker --loglevel=info

beat: install
	$(BIN)/celery -A config beat --loglevel=info

# Refresh the .po files after changing user-facing strings (needs GNU gettext).
messages: install
	$(BIN)/python manage.py makemessages --locale fr --locale es --ignore ".venv/*" --ignore "var/*" --no-obsolete
	$(BIN)/python manage.py compiletranslations

# Every benchmark, then bench/results.md. Installs wrk, PostgreSQL and Redis from Debian's packages when missing (as root).
bench: install-dev
	@missing=""; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; fi
	$(BIN)/python bench/run_all.py
