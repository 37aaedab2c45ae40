"""
gunicorn.conf.py (issue 20): workers are not recycled unless asked, the access log obeys LOG_LEVEL and
GUNICORN_ACCESSLOG, and the master loads what first requests would, without touching the database.
"""

import logging
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _conf(monkeypatch, **environ) -> dict:
    for name in ("GUNICORN_MAX_REQUESTS", "GUNICORN_ACCESSLOG", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_workers_are_not_recycled_unless_asked(monkeypatch):
    conf = _conf(monkeypatch)
    assert conf["max_requests"] == 0 and conf["max_requests_jitter"] == 0
    conf = _conf(monkeypatch, GUNICORN_MAX_REQUESTS="5000")
    assert conf["max_requests"] == 5000 and conf["max_requests_jitter"] == 500
    assert conf["preload_app"] is True


@pytest.mark.parametrize(
    ("environ", "path", "level", "handlers"),
    [
        ({}, "-", "INFO", ["console"]),
        ({"LOG_LEVEL": "warning"}, "-", "WARNING", ["console"]),
        ({"GUNICORN_ACCESSLOG": "off"}, None, "CRITICAL", []),
    ],
)
def test_the_access_log_follows_the_environment_and_stays_masked(monkeypatch, environ, path, level, handlers):
    conf = _conf(monkeypatch, **environ)
    assert conf["accesslog"] == path
    access = conf["logconfig_dict"]["loggers"]["gunicorn.access"]
    assert (access["level"], access["handlers"]) == (level, handlers)
    assert conf["logconfig_dict"]["handlers"]["console"]["filters"] == ["mask_private_links"]


def test_no_access_line_is_built_when_nothing_would_write_it(monkeypatch):
    conf = _conf(monkeypatch)
    built = []
    logger = conf["AccessLogger"].__new__(conf["AccessLogger"])
    logger.cfg = SimpleNamespace(accesslog="-")
    logger.access_log = logging.getLogger("test.gunicorn.access")
    monkeypatch.setattr(conf["Logger"], "access", lambda self, *args: built.append(args))
    logger.access_log.setLevel(logging.WARNING)
    logger.access(None, None, {}, 0)
    assert built == []
    logger.access_log.setLevel(logging.INFO)
    logger.access(None, None, {}, 0)
    assert len(built) == 1
    logger.cfg = SimpleNamespace(accesslog=None)  # GUNICORN_ACCESSLOG=off
    logger.access(None, None, {}, 0)
    assert len(built) == 1


def test_warming_loads_routes_and_templates_without_the_database():
    """No `db` fixture: pytest-django refuses any query, as a connection made in the master must not be."""
    from django.template import engines

    from config import warm

    names = warm.templates()
    assert "applications/apply.html" in names
    assert "bootstrap5/field.html" not in names and "admin/index.html" not in names  # installed packages' own
    took = warm.warm()
    assert f"{len(names)} templates" in took
    loader = engines["django"].engine.template_loaders[0]
    assert getattr(loader, "get_template_cache", None), "DEBUG is off in tests: the cached loader keeps them"
