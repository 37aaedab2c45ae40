# Two commands matter: `make run` and `make test`. Both set up everything first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# One stamp per requirements file's contents: a changed pin reinstalls.
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d" " -f1)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d" " -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install install-dev run test lint worker beat messages bench faults

# What production needs (requirements.txt): `make run` installs only this.
$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-[0-9]*
	touch $(STAMP)

# Test, lint and benchmark tools on top (requirements-dev.txt).
$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
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
