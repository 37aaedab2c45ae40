"""
Settings for Pre-session Manager, read from the environment.

Every value has a safe development default, so a fresh clone runs with no
configuration at all: SQLite in var/, eager Celery tasks, and mail written to
files in var/mail/. Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS,
DATABASE_URL, REDIS_URL and EMAIL_URL (see README.md).
"""

from email.utils import getaddresses
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# What this host writes: the SQLite database (development), uploaded files without object storage,
# collected static files and development mail. Each web server of a scaled-out site has its own.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=True)

# The development key is only accepted while DEBUG is on: a production
# deployment that forgets SECRET_KEY fails at start-up instead of signing
# private application links with a public key.
if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
else:
    SECRET_KEY = env.str("SECRET_KEY")

# Old keys, newest first, after SECRET_KEY was changed: links signed with them (private application
# links in applicants' mailboxes, unsubscribe links) keep working; sessions too. Drop a key once
# every link it signed has expired or been sent again (deploy/README.md).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The admin site requires a verified second factor (config.admin_site.StaffAdminSite).
    "config.admin_config.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_countries",
    "django_celery_beat",
    "simple_history",
    "import_export",
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "two_factor",
    "axes",
    "presessions",
    "outbox",
    "applications",
    "panels",
]

MIDDLEWARE = [
    # First: everything after it (rate limits, django-axes, logs) sees the client's own address.
    "config.middleware.ClientAddressMiddleware",
    # Second: a kept public page is served from here, before everything below (presessions.caching, 0).
    "config.middleware.CachedPublicPageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Compress pages for applicants on slow connections; CSRF tokens are masked per request, which defeats BREACH.
    "django.middleware.gzip.GZipMiddleware",
    # An ETag on every page: a visitor (or a proxy) that has a page gets "304 Not Modified", not the page again.
    "django.middleware.http.ConditionalGetMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "config.middleware.QueryLanguageMiddleware",
    "config.middleware.RequestSizeLimitMiddleware",
    "config.middleware.NullCharacterMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "config.middleware.StaffSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.SecurityHeadersMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    # Last, so that it sees a locked-out login before any view does.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A transaction takes the write lock when it starts, and a second writer waits for it (up to 20
    # s) instead of failing at once with "database is locked" (two requests erasing at once).
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A form that meets a dropped connection is tried once more when the database answers again, waiting
# at most this long (applications.views.survive_database_blips).
DATABASE_RETRY_SECONDS = env.float("DATABASE_RETRY_SECONDS", default=5.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Staff accounts. A password and a second factor (TOTP, with printable backup codes) through
# django-two-factor-auth; django-axes locks a username out for an hour after five wrong passwords
# from one address; a staff session ends after a working day without activity.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "two_factor:login"
LOGIN_REDIRECT_URL = "admin:index"
TWO_FACTOR_PATCH_ADMIN = False  # the admin site's own login() sends staff to the two-step login
TWO_FACTOR_LOGIN_TIMEOUT = 600
OTP_TOTP_ISSUER = "UPR Info Pre-sessions"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # nobody reads another person's authenticator secret in the admin
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
SESSION_COOKIE_AGE = 9 * 3600  # idle time after which a session ends; StaffSessionMiddleware slides it
SESSION_ACTIVITY_REFRESH_SECONDS = 300

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalisation. Times are stored in UTC and shown in Geneva time,
# where the Pre-sessions take place.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("fr", _("French")),
    ("es", _("Spanish")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Zurich"
USE_I18N = True
USE_TZ = True
# Dates as each language writes them ("14 de diciembre de 2026"), and the names templates use for them.
FORMAT_MODULE_PATH = ["presessions.formats"]

# Static files: Bootstrap is vendored in static/vendor and served by
# whitenoise with hashed, compressed names; no CDN is involved.
STATIC_URL = "/static/"
# Where collectstatic puts the files nginx serves: outside VAR_DIR in production (deploy/README.md),
# so that nginx's user may read them without reaching the uploads.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded reports and statements: on S3-compatible object storage when S3_BUCKET is set (several
# web servers then share them), on this host's disk otherwise. Either way the files are private:
# staff and speakers download them through the application, which checks who asks; the bucket
# must not be public, and no bucket URL is ever shown.
# Uploads on disk are readable by the site's user only.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
S3_BUCKET = env.str("S3_BUCKET", default="")
if S3_BUCKET:
    UPLOADS_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="") or None,
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("S3_PREFIX", default="private"),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
            "addressing_style": env.str("S3_ADDRESSING_STYLE", default="path"),
            "signature_version": "s3v4",
        },
    }
else:
    UPLOADS_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "private"},
    }
STORAGES = {
    "default": UPLOADS_STORAGE,
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage",
        ),
        # Readable by nginx's user, unlike uploads (FILE_UPLOAD_PERMISSIONS).
        "OPTIONS": {"file_permissions_mode": 0o644, "directory_permissions_mode": 0o755},
    },
}

# The audit history is read-only: reverting would write status fields past the rules that change them.
SIMPLE_HISTORY_REVERT_DISABLED = True
# Strip a leading "=" from exported cells; applications.admin.ApplicationResource also quotes
# any cell that starts with =, +, - or @, so that no cell is ever read as a formula.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Cache and Celery. Without REDIS_URL, tasks run eagerly in the web process
# and the cache is per-process, so nothing else has to be installed.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Fails soft: while Redis is unreachable, each process uses its own memory (config/cache.py).
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": env.str("REDIS_CACHE_URL", default=REDIS_URL),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# Tasks report through the database (the outbox's status), not through results in Redis; only
# the worker check's ping keeps its result.
CELERY_TASK_IGNORE_RESULT = True
# Celery closes the database connection around every task unless this is set; config/celery.py
# closes it like Django does after a request instead (CONN_MAX_AGE, or at once after an error).
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# django-celery-beat's scheduler, which outlasts a database outage (config/beat.py).
CELERY_BEAT_SCHEDULER = "config.beat:ResilientDatabaseScheduler"
# When Redis is down, give up publishing quickly: the outbox sweep sends later.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_REDIS_BACKEND_HEALTH_CHECK_INTERVAL = 30

# Periodic tasks, created in django-celery-beat's tables after `migrate` when
# missing, so staff can see, pause and retime them in the admin.
PERIODIC_TASKS = {
    "Send queued emails": ("presessions.sweep_outbox", 60),
    "Deadline reminders to unfinished drafts": ("applications.send_deadline_reminders", 3600),
    "Alerts when a call opens": ("applications.send_call_alerts", 900),
    "Unconfirmed speakers past their deadline": ("panels.expire_unconfirmed", 3600),
    "Reminders for missing written statements": ("panels.send_statement_reminders", 3600),
    "Erase personal data past its period": ("applications.purge_personal_data", 24 * 3600),
    "Palais guest lists due": ("panels.remind_guest_lists", 3600),
    "Reminders to reviewers two days before reviews are due": ("applications.remind_reviewers", 3600),
    # Readiness (/readyz) fails when the worker has not run this for 45 seconds (config/health.py).
    "Worker heartbeat": ("config.heartbeat", 15),
}
CELERY_TIMEZONE = TIME_ZONE

# Hours before a morning's first meeting its guest list must reach the Palais's security office
# (panels/palais.py; about 48 hours for NGO meetings, UNCERTAIN for the Pre-sessions).
PALAIS_GUEST_LIST_HOURS = env.int("PALAIS_GUEST_LIST_HOURS", default=48)

# `load_demo` also runs the latest past session from call to record (panels/demo.py). The test
# suite turns it off except where a test needs it: it is the slowest part of loading the demo.
DEMO_PAST_SESSION = env.bool("DEMO_PAST_SESSION", default=True)

# How long personal data is kept, in days (applications/privacy.py; `manage.py purge`, daily). The
# privacy notice states these periods, so change them there too.
RETENTION = {
    # Unselected, reserve, declined and withdrawn applications, after their Pre-session week.
    "unselected": env.int("RETAIN_UNSELECTED_DAYS", default=365),
    # Selected speakers' applications, after their Pre-session week.
    "selected": env.int("RETAIN_SELECTED_DAYS", default=730),
    # Drafts never submitted, after the call closed; unconfirmed alerts and subscriptions, after they were asked for.
    "drafts": env.int("RETAIN_DRAFTS_DAYS", default=30),
    # The outbox's recipients, subjects and bodies, after the email was queued.
    "outbox": env.int("RETAIN_EMAILS_DAYS", default=90),
}

# Email. In development each message is written to a file under var/mail/.
EMAIL_FILE_PATH = VAR_DIR / "mail"
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="UPR Info Pre-sessions <presessions@upr-info.org>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Who hears of emails that failed for good or went again after a crash: "Name <address>, ...".
ADMINS = [(name, address) for name, address in getaddresses([env.str("ADMINS", default="")]) if address]
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# A worker holds an email it is sending for this long; if it dies meanwhile, the sweep sends it again.
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=300)
# A woken outbox relay waits this long, so that the emails queued meanwhile leave in one batch.
OUTBOX_RELAY_DELAY = env.float("OUTBOX_RELAY_DELAY", default=1.0)
# Seconds before each new attempt at an email the mail server refused; after the last, it has failed.
OUTBOX_RETRY_SECONDS = env.list("OUTBOX_RETRY_SECONDS", cast=int, default=[60, 300, 900, 3600, 10800, 21600])
CONTACT_EMAIL = env.str("CONTACT_EMAIL", default="presessions@upr-info.org")
# The public address of the site, for links in emails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Applications: uploads and abuse limits.
APPLICATION_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The largest request body read at all: one upload and the rest of the form. nginx's
# client_max_body_size should say the same (12m).
MAX_REQUEST_BYTES = APPLICATION_UPLOAD_MAX_BYTES + 2 * 1024 * 1024
APPLICATION_RATELIMIT = env.str("APPLICATION_RATELIMIT", default="20/m")
RATELIMIT_USE_CACHE = "default"

# Security. The production values apply whenever DEBUG is off; behind a TLS
# proxy, set SECURE_PROXY_SSL_HEADER through USE_X_FORWARDED_PROTO=1.
# Secure cookies whenever DEBUG is off; COOKIES_SECURE=0 only for plain-http load tests on loopback.
COOKIES_SECURE = env.bool("COOKIES_SECURE", default=not DEBUG)
SESSION_COOKIE_SECURE = COOKIES_SECURE
CSRF_COOKIE_SECURE = COOKIES_SECURE
LANGUAGE_COOKIE_SECURE = COOKIES_SECURE
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline scripts anywhere: every script is a file under static/ (django-csp).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The Django admin and the vendored Bootstrap set a few style attributes.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=()"
)
# The reverse proxies in front of the site (addresses or networks, e.g. "127.0.0.1,10.0.0.0/8").
# The client's address is then read from X-Forwarded-For; a header from anyone else is ignored.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

# Error reports: Sentry (or GlitchTip) when SENTRY_DSN is set, otherwise mail to ADMINS (config/errors.py).
# Neither carries form data, cookies or a private link in full.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.errors.PrivateExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "config.errors.PrivateExceptionReporter"
ERROR_MAIL = [] if SENTRY_DSN else ["mail_admins"]
if SENTRY_DSN:
    from config.errors import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# gunicorn's access log, configured here too because this replaces gunicorn.conf.py's logging once
# the project is loaded: "-" (the console), a file's path, or "off"; its lines are INFO, so LOG_LEVEL
# WARNING silences it as well (issue 20: it was written whatever LOG_LEVEL said).
ACCESS_LOG = env.str("GUNICORN_ACCESSLOG", default="-").strip()
ACCESS_LOG_OFF = ACCESS_LOG.lower() in ("", "off", "none", "0", "false", "no")
ACCESS_HANDLER = (
    {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_private_links"]}
    if ACCESS_LOG == "-" or ACCESS_LOG_OFF
    else {
        "class": "logging.FileHandler",
        "filename": ACCESS_LOG,
        "delay": True,  # opened by the web server's first request, not by every manage.py command
        "formatter": "plain",
        "filters": ["mask_private_links"],
    }
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        "mask_private_links": {"()": "outbox.masking.MaskPrivateLinks"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_private_links"]},
        "access": ACCESS_HANDLER,
        # A server error (a 500, a task that crashed) by mail to ADMINS, when DEBUG is off and Sentry is not used.
        "mail_admins": {
            "class": "config.errors.PrivateAdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "mask_private_links"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own default "console" handler (DEBUG only) has no masking filter: replace it.
        "django": {"handlers": ["console", *ERROR_MAIL], "level": "INFO", "propagate": False},
        "celery": {"handlers": ["console", *ERROR_MAIL], "level": "INFO", "propagate": False},
        # Requests for other host names (scanners) are logged, not mailed.
        "django.security.DisallowedHost": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "pypdf": {"level": "ERROR"},  # a damaged upload is refused with a message, not logged
        "fontTools": {"level": "WARNING"},  # the visa letters' font subsetting is chatty at INFO
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {
            "handlers": [] if ACCESS_LOG_OFF else ["access"],
            "level": "CRITICAL" if ACCESS_LOG_OFF else LOG_LEVEL,
            "propagate": False,
        },
    },
}
