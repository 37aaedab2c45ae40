"""Gunicorn settings, read from the environment like the rest of the project."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
# Load Django once in the master: a worker recycled after max_requests is then a fork (milliseconds),
# not a fresh import of the project (a second of CPU, during which its requests wait).
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket lives in $HOME, read-only under the systemd unit's sandbox; nothing uses it.
control_socket_disable = True

# Private application links never reach the access log in full.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_private_links": {"()": "outbox.masking.MaskPrivateLinks"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["mask_private_links"], "stream": "ext://sys.stdout"},
    },
    "loggers": {
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
