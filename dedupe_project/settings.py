"""Settings for Paperless Dedupe, read from the environment.

Two ways to run, chosen by what the environment provides:

* Embedded default (nothing set): SQLite in ``DEDUPE_DATA_DIR``, the Dramatiq worker inside the web
  process on an in-memory broker, the in-memory channel layer and cache. One process, no services.
* Services: ``DATABASE_URL`` (PostgreSQL through psycopg 3 with a connection pool) and ``REDIS_URL``
  (Dramatiq broker, channel layer and cache), with ``web`` (daphne), ``worker`` (rundramatiq) and
  ``scheduler`` processes.

``DEDUPE_ENVIRONMENT=production`` switches on the production hardening: a real secret key is
required, cookies are secure, HSTS is sent and logs are JSON.

Paperless's own names are used for the connection (``PAPERLESS_URL``, ``PAPERLESS_API_TOKEN``); all
our own settings start with ``DEDUPE_``. Every secret can be given as ``<NAME>_FILE`` instead, the
path of a file holding it (Docker secrets).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.FileAwareEnv()

DEDUPE_ENVIRONMENT = env.str("DEDUPE_ENVIRONMENT", default="development").lower()
if DEDUPE_ENVIRONMENT not in {"development", "production", "test"}:
    raise ImproperlyConfigured(
        f"DEDUPE_ENVIRONMENT must be development, production or test, not {DEDUPE_ENVIRONMENT!r}."
    )
PRODUCTION = DEDUPE_ENVIRONMENT == "production"
TESTING = DEDUPE_ENVIRONMENT == "test"

DEBUG = env.bool("DEDUPE_DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEDUPE_DEBUG cannot be on when DEDUPE_ENVIRONMENT=production.")

DATA_DIR = Path(env.str("DEDUPE_DATA_DIR", default=str(BASE_DIR / "data"))).resolve()

# --- Secret key -----------------------------------------------------------------------------------
# The secret key also derives the key that encrypts the Paperless token and OpenAI key stored in the
# database, so it must stay the same across restarts. Outside production a random one is created on
# first start and kept in the data directory; production refuses to start without a real one.
MAKE_KEY_HINT = (
    "Generate one with:  python -c 'import secrets; print(secrets.token_urlsafe(50))'  and pass it "
    "as DEDUPE_SECRET_KEY, or put it in a file and set DEDUPE_SECRET_KEY_FILE to its path."
)
INSECURE_KEY_MARKERS = ("django-insecure", "change-me", "changeme", "secret", "dev-key")


def _load_secret_key() -> str:
    key = env.str("DEDUPE_SECRET_KEY", default="").strip()
    if PRODUCTION:
        if not key:
            raise ImproperlyConfigured(f"DEDUPE_SECRET_KEY is not set. {MAKE_KEY_HINT}")
        lowered = key.lower()
        if len(key) < 50 or len(set(key)) < 5 or any(m in lowered for m in INSECURE_KEY_MARKERS):
            raise ImproperlyConfigured(
                "DEDUPE_SECRET_KEY looks like a default or weak key (it must be at least 50 "
                f"random characters). {MAKE_KEY_HINT}"
            )
        return key
    if key:
        return key
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _load_secret_key()

ALLOWED_HOSTS = env.list(
    "DEDUPE_ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DEDUPE_ALLOWED_HOSTS is not set: list the host names this app is served under, "
        "e.g. DEDUPE_ALLOWED_HOSTS=dedupe.example.lan"
    )
CSRF_TRUSTED_ORIGINS = env.list("DEDUPE_CSRF_TRUSTED_ORIGINS", default=[])

# --- Services -------------------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
REDIS_URL = env.str("REDIS_URL", default="")

# The embedded worker runs Dramatiq inside the web process on an in-memory broker. It is the
# default without Redis; with Redis the separate `worker` process does the work. The test suite
# runs jobs itself (or in the app it starts as a subprocess), so it is off there by default.
EMBEDDED_WORKER = env.bool("DEDUPE_EMBEDDED_WORKER", default=not REDIS_URL and not TESTING)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    # django-ninja as an app: /api/docs serves the Swagger UI it ships in its static files
    # (no CDN, which the CSP blocks and offline installations can't reach).
    "ninja",
    "channels",
    "django_dramatiq",
    "django_prometheus",
    "health_check",
    "axes",
    "dedupe_project",
    "processing",
    "documents",
    "duplicates",
    "ai_review",
    "webhooks",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "dedupe_project.middleware.ApiErrorShapeMiddleware",
    "dedupe_project.middleware.ForgetStatsAfterChangesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "dedupe_project.middleware.AccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # last, as django-axes asks: it turns a lockout into its answer
    "axes.middleware.AxesMiddleware",
]
INSTALLED_APPS.insert(INSTALLED_APPS.index("django_htmx"), "csp")

ROOT_URLCONF = "dedupe_project.urls"
ASGI_APPLICATION = "dedupe_project.asgi.application"
WSGI_APPLICATION = None

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
                "dedupe_project.context_processors.navigation",
            ],
        },
    },
]

_default_sqlite = f"sqlite:///{DATA_DIR / 'dedupe.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL or _default_sqlite)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3's pool: connections are reused across requests and worker threads.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DEDUPE_DB_POOL_MIN", default=1),
        "max_size": env.int("DEDUPE_DB_POOL_MAX", default=10),
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the embedded worker write while pages read; IMMEDIATE avoids "database is
        # locked" on lock upgrades between the web and worker threads.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not memory, so the app started as a subprocess by the tests sees the same data.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-dedupe.sqlite3")}
DATABASE_IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One prefix for everything we keep in Redis, so several installs (or test runs) can share one.
REDIS_PREFIX = env.str("DEDUPE_REDIS_PREFIX", default="dedupe")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
        }
    }
    # channels-redis waits for the next message with a 5 s blocking pop on the server; redis-py 8
    # made 5 s the default client read timeout too, so an idle socket's wait lost that race,
    # raised TimeoutError and closed every idle WebSocket with 1011. The read may take as long
    # as the pop plus a margin; a Redis that stays silent longer than that is really gone.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 15,
                        "socket_connect_timeout": 5,
                        "socket_keepalive": True,
                    }
                ],
                "prefix": f"{REDIS_PREFIX}:channels",
            },
        }
    }
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.redis.RedisBroker",
        "OPTIONS": {"url": REDIS_URL, "namespace": f"{REDIS_PREFIX}:queues"},
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    DRAMATIQ_BROKER = {"BROKER": "dramatiq.brokers.stub.StubBroker", "OPTIONS": {}}

# An idle worker asks Redis for work every so often, backing off up to this many milliseconds
# (Dramatiq's default, 1000, made every hop of a webhook -> mirror -> analysis chain wait up to a
# second); read by Dramatiq from the environment when it starts, so the workers inherit it.
os.environ.setdefault(
    "dramatiq_worker_timeout", str(env.int("DEDUPE_WORKER_IDLE_POLL_MS", default=100))
)
DRAMATIQ_BROKER["MIDDLEWARE"] = [
    "dramatiq.middleware.AgeLimit",
    "dramatiq.middleware.TimeLimit",
    "dramatiq.middleware.Callbacks",
    "dramatiq.middleware.Retries",
    "django_dramatiq.middleware.DbConnectionsMiddleware",
    "processing.priority.LowerPriority",
]
DRAMATIQ_AUTODISCOVER_MODULES = ["actors"]
# Queues, one per kind of work so a long analysis never starves an action (STYLE.md).
DEDUPE_QUEUES = ("sync", "analysis", "actions", "ai", "maintenance", "webhooks")

# --- Auth -----------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out account or address is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes, see dedupe_project/throttling.py): per account and per address.
AXES_ENABLED = env.bool("DEDUPE_LOGIN_THROTTLING", default=True)
AXES_FAILURE_LIMIT = env.int("DEDUPE_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("DEDUPE_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = "dedupe_project.throttling.lockout_parameters"
AXES_LOCKOUT_CALLABLE = "dedupe_project.throttling.lockout_response"
AXES_CLIENT_IP_CALLABLE = "dedupe_project.network.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
ADMIN_USERNAME = env.str("DEDUPE_ADMIN_USERNAME", default="")
ADMIN_PASSWORD = env.str("DEDUPE_ADMIN_PASSWORD", default="")
ADMIN_EMAIL = env.str("DEDUPE_ADMIN_EMAIL", default="")

# --- Security headers -----------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
if env.bool("DEDUPE_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if PRODUCTION:
    # Secure by default; an operator serving plain HTTP on a trusted LAN can relax these
    # explicitly (and `check --deploy` will then say so).
    _secure = env.bool("DEDUPE_SECURE_COOKIES", default=True)
    SESSION_COOKIE_SECURE = _secure
    CSRF_COOKIE_SECURE = _secure
    SECURE_SSL_REDIRECT = env.bool("DEDUPE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DEDUPE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DEDUPE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DEDUPE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is for public domains submitted to the browsers' list; a home-lab host name
        # can't be, so its absence is not a problem to warn about.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    # Health, metrics and webhooks are called over plain HTTP inside the Compose network.
    SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$", r"^webhooks/paperless/"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("DEDUPE_TIME_ZONE", default=env.str("PAPERLESS_TIME_ZONE", default="UTC"))
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("DEDUPE_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from the finders here
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

# --- Paperless and our tunables that are not per-user configuration -------------------------------
PAPERLESS_URL = env.str("PAPERLESS_URL", default="")
PAPERLESS_API_TOKEN = env.str("PAPERLESS_API_TOKEN", default="")
PAPERLESS_TIMEOUT = env.float("DEDUPE_PAPERLESS_TIMEOUT", default=30.0)
PAPERLESS_VERIFY_TLS = env.bool("DEDUPE_PAPERLESS_VERIFY_TLS", default=True)
# The OpenAI SDK's own names. The key from the environment is only sent to OPENAI_BASE_URL (or to
# OpenAI when that is unset), never to a base URL entered in the UI.
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")

METRICS_TOKEN = env.str("DEDUPE_METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("DEDUPE_METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
# Reverse proxies whose X-Forwarded-For is believed (addresses or networks); none by default, so
# the header is ignored and the connecting peer is the client (dedupe_project/network.py).
TRUSTED_PROXIES = env.list("DEDUPE_TRUSTED_PROXIES", default=[])
try:
    from dedupe_project.network import parse_networks

    parse_networks(tuple(TRUSTED_PROXIES))
    parse_networks(tuple(METRICS_ALLOWED_IPS))
except ValueError as _exc:
    raise ImproperlyConfigured(
        f"DEDUPE_TRUSTED_PROXIES / DEDUPE_METRICS_ALLOWED_IPS: {_exc}"
    ) from None
WEBHOOK_SECRET = env.str("DEDUPE_WEBHOOK_SECRET", default="")
# This app's address as Paperless reaches it (behind Docker networks it is not the one the browser
# uses), e.g. http://dedupe:8000; the webhook set-up page can also store one.
PUBLIC_URL = env.str("DEDUPE_PUBLIC_URL", default="")
# The webhook endpoint: the largest body read (a workflow with "include document" sends the whole
# file, which is read and dropped), and deliveries per minute per address (django-ratelimit's
# "N/m"): authenticated ones, and refused ones (a wrong secret) before the address is turned away.
WEBHOOK_MAX_BODY_BYTES = env.int("DEDUPE_WEBHOOK_MAX_BODY_MB", default=64) * 1024 * 1024
WEBHOOK_MAX_FIELDS_BYTES = 64 * 1024
WEBHOOK_RATE_LIMIT = env.str("DEDUPE_WEBHOOK_RATE_LIMIT", default="3000/m")
WEBHOOK_REFUSED_RATE_LIMIT = env.str("DEDUPE_WEBHOOK_REFUSED_RATE_LIMIT", default="30/m")

# The dashboard's figures are shared by every visitor for this long (0: computed every time).
STATS_CACHE_SECONDS = env.float("DEDUPE_STATS_CACHE_SECONDS", default=10.0)
# Background work yields the CPU to the web processes: each worker process lowers its own
# priority by this much (nice; 0 keeps it).
WORKER_NICENESS = env.int("DEDUPE_WORKER_NICENESS", default=10)

# Every running job's worker touches its row every JOB_HEARTBEAT_SECONDS (a thread of its own,
# whatever the job is doing); one silent for JOB_STALE_AFTER_SECONDS is dead: its job is marked
# interrupted (by the scheduler every 15 s, and before a sync or analysis is started) and can be
# resumed. A person may mark it interrupted as soon as three heartbeats were missed.
JOB_HEARTBEAT_SECONDS = env.int("DEDUPE_JOB_HEARTBEAT_SECONDS", default=10)
JOB_STALE_AFTER_SECONDS = env.int("DEDUPE_JOB_STALE_AFTER_SECONDS", default=45)
if JOB_STALE_AFTER_SECONDS < 3 * JOB_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "DEDUPE_JOB_STALE_AFTER_SECONDS must be at least three heartbeats "
        f"(3 x DEDUPE_JOB_HEARTBEAT_SECONDS = {3 * JOB_HEARTBEAT_SECONDS})."
    )

# --- Logging --------------------------------------------------------------------------------------
LOG_LEVEL = env.str("DEDUPE_LOG_LEVEL", default="INFO").upper()
LOG_FORMAT = env.str("DEDUPE_LOG_FORMAT", default="json" if PRODUCTION else "console")

from dedupe_project.logging import build_logging_config  # noqa: E402

LOGGING = build_logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)

EMBEDDED_WORKER_THREADS = env.int("DEDUPE_EMBEDDED_WORKER_THREADS", default=2)
WHITENOISE_USE_FINDERS = not PRODUCTION
