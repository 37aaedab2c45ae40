"""The least Django needs to serve one view: no apps, no middleware, no database, DEBUG off."""

SECRET_KEY = "bench-bare-" + "k3" * 30  # signs nothing: there are no sessions, cookies or forms
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.bare.urls"
INSTALLED_APPS = []
MIDDLEWARE = []
DATABASES = {}
USE_TZ = True
LOGGING_CONFIG = None  # keep gunicorn.conf.py's logging, as the project's own settings replace it
