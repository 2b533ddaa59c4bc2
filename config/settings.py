"""Checkpoint settings: one file, read from the environment (docs/operations.md "Environment variables").

Defaults are safe for the one-command demo and the test suite only. In production (DEBUG off)
a missing SECRET_KEY or a malformed value stops the process at boot with a message that says
what to set.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

import environ
from django.core.exceptions import ImproperlyConfigured

from approvals.crypto import check_keys, derived_key
from config.env import envbool, envfileurl, envint, envlist, envsigningkeys, envstr

BASE_DIR = Path(__file__).resolve().parent.parent

# pytest (>= 8.2) exports PYTEST_VERSION for the whole session; the suite gets a throwaway key.
TESTING = "PYTEST_VERSION" in os.environ

DEBUG = envbool("DEBUG", False)
PRODUCTION = not DEBUG and not TESTING

# The demo's published key is used only when asked for: `make demo` and `make manage` set
# CHECKPOINT_DEMO=1; the test suite needs no flag. DEBUG=1 alone is not enough, so a
# debugging server never runs on a key anyone can read in this repository.
DEMO = envbool("CHECKPOINT_DEMO", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production (DEBUG off) needs a long random SECRET_KEY; "
            'generate one with: python -c "import secrets; print(secrets.token_urlsafe(64))"'
        )
    if not (DEMO or TESTING):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set one (even with DEBUG=1), or set CHECKPOINT_DEMO=1 to use "
            "the demo's published key as `make demo` and `make manage` do."
        )
    SECRET_KEY = "insecure-demo-and-test-key-never-use-in-production-0123456789abcdef"

# Secrets at rest (approvals/crypto.py, docs/security.md): comma-separated Fernet keys, the
# first encrypts, all decrypt. Required in production; the demo and the tests derive one.
FIELD_ENCRYPTION_KEYS = check_keys(envlist("FIELD_ENCRYPTION_KEYS", []))
if not FIELD_ENCRYPTION_KEYS:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is not set. Production (DEBUG off) encrypts webhook and TOTP "
            'secrets with it; make a key with: python -c "from cryptography.fernet import '
            'Fernet; print(Fernet.generate_key().decode())"'
        )
    FIELD_ENCRYPTION_KEYS = [derived_key(SECRET_KEY)]

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [SITE_URL])

INSTALLED_APPS = [
    "approvals.apps.CheckpointAdminConfig",  # django.contrib.admin with our AdminSite
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "csp",
    "simple_history",
    "django_celery_beat",
    "ninja",  # its static Swagger UI for /api/v1/docs (no CDN)
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",  # people see and end their own sessions (linked from /settings/)
    "approvals",
    "playbooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    # After allauth's: an idle session ends, then privileged pages need an enrolled second
    # factor (docs/security.md "Sign-in, MFA and sessions").
    "approvals.security.middleware.IdleTimeoutMiddleware",
    "approvals.security.middleware.MfaRequiredMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

# --- Database ------------------------------------------------------------------------------
_env = environ.Env()
DATABASE_URL = envstr("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    DATABASES = {"default": _env.db_url_config(DATABASE_URL)}
except Exception as exc:  # environ raises several types for a malformed URL
    raise ImproperlyConfigured(
        f"DATABASE_URL={DATABASE_URL!r} is not a database URL: {exc}"
    ) from exc
if not DATABASES["default"].get("ENGINE"):
    # environ only warns on an unknown scheme ("nonsense", "mysqll://"); refuse it at boot.
    raise ImproperlyConfigured(
        f"DATABASE_URL={DATABASE_URL!r} is not a database URL: use postgres://… or sqlite:///…"
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite is for the demo and the plain test run: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
else:
    DATABASES["default"]["CONN_MAX_AGE"] = envint("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Parameters travel apart from the statement (server-side binding), so a statement's text
    # is the same on every call and psycopg prepares it on its connection at its fifth use:
    # PostgreSQL then parses it once and plans it once where a generic plan serves
    # (docs/performance.md "Prepared statements"). Behind PgBouncer in transaction mode older
    # than 1.21, set DATABASE_PREPARED=0 (parameters merged into the text, nothing prepared).
    if envbool("DATABASE_PREPARED", True):
        DATABASES["default"].setdefault("OPTIONS", {})
        DATABASES["default"]["OPTIONS"].update(
            {"server_side_binding": True, "prepare_threshold": 5}
        )
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # the service boundary is the transaction boundary
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: rate limits, lockouts and throttles must hold across every worker and machine ----
# Redis in production (CACHE_URL=redis://host:6379/1); by default a file cache beside the
# SQLite database, which the demo's web server and workers share (docs/operations.md).
# A test run gets a folder of its own: each test empties the cache, which must not reach into a
# second run going on in the same checkout (its gunicorn workers get this URL explicitly).
_CACHE_DIR = BASE_DIR / ".cache" / (f"test-{os.getpid()}" if TESTING else "")
CACHE_URL = envstr("CACHE_URL", f"filecache://{_CACHE_DIR}")
try:
    CACHES = {"default": _env.cache_url_config(CACHE_URL)}
except Exception as exc:  # environ raises several types for a malformed URL
    raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r} is not a cache URL: {exc}") from exc
CACHES["default"]["KEY_PREFIX"] = envstr("CACHE_KEY_PREFIX", "checkpoint")
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # The same backend, reusing its Redis client instead of building one per call.
    CACHES["default"]["BACKEND"] = "approvals.cache.KeptRedisCache"

# Requests per API token and window (docs/api.md "Rate limit"): N/s, N/m, N/h, N/d or N/<k>s.
API_RATE_LIMIT = envstr("API_RATE_LIMIT", "600/m")
if not re.fullmatch(r"\s*[1-9]\d*\s*/\s*\d*\s*[smhd]\s*", API_RATE_LIMIT):
    raise ImproperlyConfigured(
        f"API_RATE_LIMIT={API_RATE_LIMIT!r}: write it as N/s, N/m, N/h, N/d or N/<k>s"
    )

# --- Auth (django-allauth, email + password, TOTP and recovery codes) -----------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# URL names, resolved by Django and allauth: a path is written only in a urls.py.
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "inbox"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "approvals.adapters.AccountAdapter"  # sign-up is closed: managers add reviewers
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
# Counted in the shared cache (CACHES above), so a lockout holds across every worker: after 5
# wrong passwords for one account in 5 minutes (or 10 a minute from one address) even the right
# password is refused until the window passes. The admin login goes through the same form.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
# Re-authentication (password or second factor) is asked for policy edits when the last sign-in
# or re-authentication is older than this.
ACCOUNT_REAUTHENTICATION_TIMEOUT = envint("REAUTHENTICATION_SECONDS", 300)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Checkpoint"
MFA_ADAPTER = (
    "approvals.adapters.MFAAdapter"  # TOTP secrets encrypted at rest (approvals/crypto.py)
)
# Staff and holders of approvals.export_audit always need a second factor for the admin and the
# export; this makes every signed-in page need one (docs/security.md).
MFA_REQUIRED_FOR_ALL = envbool("MFA_REQUIRED_FOR_ALL", False)
# A signed-in session that sees no request for this long is signed out.
# Django's database sessions, read by a statement built once (approvals/security/sessions.py).
SESSION_ENGINE = "approvals.security.sessions"
SESSION_IDLE_MINUTES = envint("SESSION_IDLE_MINUTES", 60)
if SESSION_IDLE_MINUTES < 1:
    raise ImproperlyConfigured("SESSION_IDLE_MINUTES must be at least 1 (minutes).")
USERSESSIONS_TRACK_ACTIVITY = False  # no write per request; the list shows sign-in time and IP

# --- i18n / time --------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Outside production whitenoise serves straight from the finders, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Email ------------------------------------------------------------------------------------
EMAIL_URL = envstr("EMAIL_URL", "consolemail://")
try:
    vars().update(_env.email_url_config(EMAIL_URL))
except Exception as exc:
    raise ImproperlyConfigured(f"EMAIL_URL={EMAIL_URL!r} is not an email URL: {exc}") from exc
if EMAIL_URL.startswith("filemail://"):
    # The folder as written: environ drops the leading "/" of filemail:///abs/path, which put
    # the demo's emails under a relative copy of that path.
    EMAIL_FILE_PATH = unquote(EMAIL_URL.removeprefix("filemail://").split("?", 1)[0])
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Checkpoint <checkpoint@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery -----------------------------------------------------------------------------------
BROKER_DIR = Path(envstr("BROKER_DIR", str(BASE_DIR / ".broker")))
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("queue", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", TESTING)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redelivered; every task is idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 300)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fix-up closes every database connection before and after each task unless
# this is set: a new PostgreSQL backend per task, which cost more CPU than the notice it sent.
# Workers instead treat a task as Django treats a request (config/celery.py): the connection
# is kept for CONN_MAX_AGE and dropped when it is broken (docs/performance.md "Workers").
CELERY_DB_REUSE_MAX = 10**9

# --- Checkpoint ----------------------------------------------------------------------------------
CALLBACK_ALLOW_PRIVATE_NETWORKS = envbool("CALLBACK_ALLOW_PRIVATE_NETWORKS", False)
# Where HubSpot workflow completions go (docs/integrations.md); tests point it at a local fake.
HUBSPOT_API_URL = envstr("HUBSPOT_API_URL", "https://api.hubapi.com").rstrip("/")
# Lifetime of a decision link in an email (docs/security.md "Email links"). 24 h, shorter than
# the 72 h the first contract named; the old variable name is still read.
DEEP_LINK_HOURS = envint("DEEP_LINK_HOURS", envint("DEEP_LINK_MAX_AGE_HOURS", 24))
if DEEP_LINK_HOURS < 1:
    raise ImproperlyConfigured("DEEP_LINK_HOURS must be at least 1 (hours).")
# How often an open inbox asks for its counters and whether its list changed (docs/operations.md).
INBOX_REFRESH_SECONDS = envint("INBOX_REFRESH_SECONDS", 15)
# New work in a group's queue reaches each member at most once per this many minutes, as one
# email listing what arrived (docs/notifications.md). 0 sends every notice on its own.
try:
    NOTIFY_BATCH_MINUTES = float(envstr("NOTIFY_BATCH_MINUTES", "15"))
except ValueError as exc:
    raise ImproperlyConfigured("NOTIFY_BATCH_MINUTES must be a number of minutes") from exc
# Notice emails are queued in the database with the change that calls for them and sent by the
# worker in batches: a run is queued at most once per this many seconds, when the window
# closes (docs/notifications.md "How a notice reaches the worker"). 0 queues a run at every
# commit, at once (the test suite, where Celery runs tasks in place).
NOTICE_WINDOW_SECONDS = envint("NOTICE_WINDOW_SECONDS", 0 if TESTING else 1)
# Callback retries (docs/api.md "Callbacks"): seconds after each failed attempt, ±20 % jitter; after the
# last one the event is dead. Tests and the fault drills set a tight schedule through the env.
try:
    WEBHOOK_RETRY_SCHEDULE = [
        float(s)
        for s in envlist(
            "WEBHOOK_RETRY_SCHEDULE", ["5", "60", "300", "1800", "7200", "21600", "43200", "86400"]
        )
    ]
except ValueError:
    raise ImproperlyConfigured(
        "WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds, e.g. 5,60,300."
    ) from None
# A worker's claim on an event while it posts; a worker killed mid-delivery frees it after this.
# Must outlast the 10 s request timeout.
WEBHOOK_LEASE_SECONDS = envint("WEBHOOK_LEASE_SECONDS", 60)
WEBHOOK_BATCH_SIZE = envint("WEBHOOK_BATCH_SIZE", 100)
API_MAX_BODY_BYTES = 256 * 1024
# Slack (docs/api.md "Slack"): both the bot token and the signing secret, or Slack stays off and
# nothing tries to reach it. SLACK_API_URL points the Web API client elsewhere (tests, a proxy).
SLACK_BOT_TOKEN = envstr("SLACK_BOT_TOKEN", "")
SLACK_SIGNING_SECRET = envstr("SLACK_SIGNING_SECRET", "")
SLACK_API_URL = envstr("SLACK_API_URL", "https://slack.com/api/")
if not SLACK_API_URL.endswith("/"):
    SLACK_API_URL += "/"
# Slack retries: seconds after each failed attempt (a 429's Retry-After wins when longer).
SLACK_RETRY_SCHEDULE = [5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0]
SLACK_LEASE_SECONDS = envint("SLACK_LEASE_SECONDS", 60)
# SLA sweep and distribution: rows per claimed batch, batches per run, and how long a
# claimed row waits before a retry if its check fails or the worker dies.
SLA_SWEEP_BATCH_SIZE = envint("SLA_SWEEP_BATCH_SIZE", 100)
SLA_SWEEP_MAX_BATCHES = envint("SLA_SWEEP_MAX_BATCHES", 10)
SLA_SWEEP_RETRY_SECONDS = envint("SLA_SWEEP_RETRY_SECONDS", 300)
DISTRIBUTE_BATCH_SIZE = envint("DISTRIBUTE_BATCH_SIZE", 200)
# Fatigue: a reviewer whose last FATIGUE_WINDOW decisions include at least FATIGUE_MIN_RATIO
# approvals made within FATIGUE_MAX_SECONDS of receiving the request is flagged to managers.
FATIGUE_WINDOW = envint("FATIGUE_WINDOW", 20)
FATIGUE_MAX_SECONDS = envint("FATIGUE_MAX_SECONDS", 5)
FATIGUE_MIN_RATIO = 0.9
FATIGUE_LOOKBACK_HOURS = envint("FATIGUE_LOOKBACK_HOURS", 24)
# Seal audit entries inside the service's transaction instead of after commit. Default: yes on
# SQLite (writers queue anyway) and under the test suite, so tests read a sealed chain right
# after a service; no on PostgreSQL (docs/architecture.md "The audit chain: sealed after commit").
# After commit, a sealer run is queued at most once per window and runs when it closes: the
# sealing lag is about one window (docs/performance.md "One broker message per write").
AUDIT_SEAL_WINDOW_SECONDS = envint("AUDIT_SEAL_WINDOW_SECONDS", 1)
AUDIT_SEAL_INLINE = envbool("AUDIT_SEAL_INLINE", not IS_POSTGRES or TESTING)
# Signed checkpoints of the audit chain, kept outside the database (docs/security.md "The audit
# trail"). AUDIT_SIGNING_KEY is "<key id>:<secret>" (HMAC-SHA256, secret of 32+ characters);
# AUDIT_VERIFY_KEYS lists retired keys, comma-separated in the same form, that verification
# still accepts. AUDIT_CHECKPOINT_URL is where beat writes them: file:///an/absolute/dir.
AUDIT_SIGNING_KEY_ID, AUDIT_VERIFY_KEYS = envsigningkeys("AUDIT_SIGNING_KEY", "AUDIT_VERIFY_KEYS")
AUDIT_CHECKPOINT_URL = envfileurl("AUDIT_CHECKPOINT_URL")
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # the API enforces its own 256 KiB limit with a 413

# --- Security ---------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", PRODUCTION)
if envbool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Email-link tokens are credentials: every line that could carry a request path is scrubbed
# (/d/<token>/ -> /d/[redacted]/). The filter sits on the root handler for everything that
# propagates, and on the loggers that name paths, so a record is clean before any handler (a
# test's capture included) sees it. gunicorn's own access log: gunicorn.conf.py.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub_links": {"()": "approvals.security.logging.ScrubDeepLinkTokens"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["scrub_links"],
        }
    },
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A logger's filters see only its own records, not its children's: name each one.
        "django.request": {"filters": ["scrub_links"]},
        "django.security.csrf": {"filters": ["scrub_links"]},
        "django.server": {
            "handlers": ["console"],
            "level": "INFO",
            "propagate": False,
            "filters": ["scrub_links"],
        },
    },
}
