"""
Load, before the first request, what a web process would otherwise load during its first requests.

A fresh gunicorn worker used to spend its first request importing every view module (the URL
patterns: 0.35 s measured on a busy machine), its first request that used the cache importing the
Redis client (0.1 to 0.2 s), and its first few pages compiling their templates (15 to 40 ms each),
while the requests queued behind it waited: with workers replaced every 2,000 requests, that was
the tail of the load benchmark (issue 20). gunicorn.conf.py calls `warm()` in the master once the project is
preloaded, so that every worker forked from it starts with all of this in memory (shared with the
master until written to), or in each worker if the project is not preloaded.

Nothing here touches the database or the cache: a connection opened in the master would be shared
by every worker forked from it.
"""

import logging
import time
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.template import engines
from django.urls import get_resolver
from django.utils import translation
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def _populate(resolver) -> None:
    """Every URL pattern of `resolver` and of its namespaces, compiled for the active language."""
    resolver.reverse_dict  # noqa: B018 -- the property builds the lookup tables (and imports the views)
    for _prefix, namespace in resolver.namespace_dict.values():
        _populate(namespace)


def templates() -> list[str]:
    """The names of every template in the project's own folders (not those of installed packages)."""
    base = Path(settings.BASE_DIR).resolve()
    names = set()
    for engine in engines.all():
        for folder in getattr(engine, "template_dirs", ()):
            folder = Path(folder).resolve()
            if not folder.is_relative_to(base) or ".venv" in folder.parts or not folder.is_dir():
                continue
            names.update(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())
    return sorted(names)


def warm() -> dict[str, float]:
    """Load the URL patterns, the translations and the project's templates; return what each took (seconds)."""
    took = {}
    started = time.perf_counter()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):  # loads the language's catalogs too
            _populate(get_resolver())
    took["urls and translations"] = time.perf_counter() - started
    started = time.perf_counter()
    # The cache's code (importing the Redis client alone takes 50 to 180 ms), but no connection: each
    # worker opens its own on its first request.
    for options in settings.CACHES.values():
        import_string(options["BACKEND"])
    took["cache backends"] = time.perf_counter() - started
    started = time.perf_counter()
    compiled = 0
    for name in templates():
        for engine in engines.all():
            try:
                engine.get_template(name)  # kept by the cached loader (DEBUG off)
                compiled += 1
                break
            except Exception:  # noqa: BLE001, S112 -- a fragment that compiles only where included, or another engine's
                continue
    took[f"{compiled} templates"] = time.perf_counter() - started
    connections.close_all()  # in case anything above opened one: a forked worker must not share it
    logger.debug("warmed: %s", ", ".join(f"{what} {seconds * 1000:.0f} ms" for what, seconds in took.items()))
    return took
