"""
A bare Django view, the framework's limit for `make bench` (issue 20): no middleware, no database,
DEBUG off, one view that returns a fixed page of about 2 KB. bench/load.py serves it with gunicorn
and the project's gunicorn.conf.py (same workers, same settings), beside the project, and gives
each page's throughput as a ratio to it.

Serve it alone: DJANGO_SETTINGS_MODULE=bench.bare.settings gunicorn bench.bare.wsgi -c gunicorn.conf.py
"""
