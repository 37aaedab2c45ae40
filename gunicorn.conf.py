"""Gunicorn settings, read from the environment like the rest of the project."""

import gc
import logging
import multiprocessing
import os

from gunicorn.glogging import Logger

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Workers are not recycled unless asked: at 2,000 requests each worker was replaced every second or
# two under load, and each new one made its first requests wait while it loaded what the old one had
# (p99 at 16 connections 0.75 s instead of 12 ms; memory stays flat without recycling: issue 20,
# bench/results.md). A positive value replaces a worker after that many requests (plus up to a tenth
# more, so that they do not all go at once), against a leak.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
# Load Django once in the master: a worker (a new one after a crash or a timeout, or a recycled one)
# is then a fork (milliseconds), not a fresh import of the project (a second of CPU, during which
# its requests wait). when_ready below loads the rest before the first fork.
preload_app = True
# The access log: "-" (the console, like every other log), a file's path, or "off". Its lines are
# INFO, so it also follows LOG_LEVEL (WARNING silences it). It costs about a tenth of a cached page's
# throughput (bench/results.md); nginx's own access log has every request too.
ACCESS_LOG = os.environ.get("GUNICORN_ACCESSLOG", "-").strip()
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
accesslog = None if ACCESS_LOG.lower() in ("", "off", "none", "0", "false", "no") else ACCESS_LOG
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket lives in $HOME, read-only under the systemd unit's sandbox; nothing uses it.
control_socket_disable = True


class AccessLogger(Logger):
    """gunicorn's logger, which builds a request's access line only when the access log will write it."""

    def access(self, resp, req, environ, request_time):
        if self.cfg.accesslog is not None and self.access_log.isEnabledFor(logging.INFO):
            super().access(resp, req, environ, request_time)


logger_class = AccessLogger

# Private application links never reach the access log in full. Django's LOGGING (config/settings.py)
# configures the same loggers again once the project is loaded, with the same filter.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_private_links": {"()": "outbox.masking.MaskPrivateLinks"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["mask_private_links"], "stream": "ext://sys.stdout"},
    },
    "loggers": {
        "gunicorn.access": {
            "handlers": ["console"] if accesslog else [],
            "level": LOG_LEVEL if accesslog else "CRITICAL",
            "propagate": False,
        },
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}


def _warm():
    from django.conf import settings

    # The project's own settings only: bench/bare serves a bare Django view under this file too.
    if settings.SETTINGS_MODULE == "config.settings":
        from config.warm import warm

        warm()


def when_ready(server):
    """In the master, once the project is preloaded and before the first fork: load what first requests would."""
    if server.cfg.preload_app:
        _warm()
        # What the master loaded stays shared with every worker: the collector moves it aside instead
        # of touching (and so copying) it in each worker at every full collection.
        gc.freeze()


def post_worker_init(worker):
    """In each worker, when the project is not preloaded (e.g. `--reload` while developing)."""
    if not worker.cfg.preload_app:
        _warm()
