"""Django settings. Every value comes from ``exchange_site.config`` (the environment)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from redis.connection import parse_url as parse_redis_url

from . import config

BASE_DIR = config.BASE_DIR
SECRET_KEY = config.secret_key()
# Off unless asked for: DEBUG opens the faucet (free funds for anyone who signs up) and Django's
# debug pages. ``make run``, the demo, turns it on.
DEBUG = config.env_bool("DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

# Served over TLS (HTTPS=true, usually by a proxy in front that sets X-Forwarded-Proto):
# cookies travel only over HTTPS, plain HTTP is redirected, browsers are told to stay on HTTPS.
if config.env_bool("HTTPS", False):
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "operations.apps.ExchangeAdminConfig",  # django.contrib.admin, with the back office as its site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files for /api/docs, served as static files
    "channels",
    "exchange_site",
    "accounts",
    "markets",
    "history",
    "operations.apps.OperationsConfig",
    "streams",
]

MIDDLEWARE = [
    "operations.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The wire contract has no trailing slashes, and a POST must never be redirected.
APPEND_SLASH = False

ROOT_URLCONF = "exchange_site.urls"
ASGI_APPLICATION = "exchange_site.asgi.application"
# Threads serving HTTP per web process (each keeps at most one database connection).
WEB_HTTP_THREADS = int(os.environ.get("WEB_HTTP_THREADS", "16"))

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(config.database_url(), conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web, worker and engine processes read while one writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory, so that the engine and worker subprocesses of the tests can open it.
    DATABASES["default"]["TEST"] = {"NAME": str(config.VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "trade"
LOGOUT_REDIRECT_URL = "trade"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = config.VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] + [  # and the chart library of the trading page (`npm ci`)
    ("vendor/lightweight-charts", path)
    for path in [BASE_DIR / "node_modules" / "lightweight-charts" / "dist"]
    if path.is_dir()
]

REDIS_URL = config.redis_url()
REDIS_IS_EMBEDDED = config.redis_is_embedded()
# Pub/sub channels are server-wide whatever the db: the exchange's own (the channel layer's,
# contract.names.key_changed_channel) carry the db number, so that exchanges (and test runs)
# sharing one Redis server never hear each other.
REDIS_DB = parse_redis_url(REDIS_URL).get("db", 0)

# Fan-out through Redis pub/sub: measured in bench/ws_fanout.py, RedisChannelLayer dropped 20 %
# of events at 1,000 clients (its per-channel lists overflow their capacity while the web
# process is busy) where the pub/sub layer lost none, at a third of the latency. A client that
# never reads is cut off by the consumer's own outbox limits (streams/outbox.py) instead.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": f"asgi.{REDIS_DB}."},
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-batch leaves the batch for another run
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
# A batch whose worker died reappears after this long (writes are idempotent, so short is safe).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": float(os.environ.get("CELERY_VISIBILITY_TIMEOUT_S", "300")),
}
CELERY_TASK_SERIALIZER = "orjson"
CELERY_ACCEPT_CONTENT = ["json", "orjson"]

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "EXCEPTION_HANDLER": "exchange_site.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    # The wire has no ``format`` parameter; DRF's override answered 404 for any unknown value.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Exchange API",
    "DESCRIPTION": (
        "Spot exchange API, wire-compatible with the Backpack Exchange API v1. Private operations "
        "are signed with an Ed25519 API key: see the security scheme `signature` for the headers "
        "and the signing string, and each operation's `x-signing-instruction`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The private routes send each method to a view of its own, which the schema generator cannot
    # see by itself (accounts.api.schema adds them, with their descriptions).
    "PREPROCESSING_HOOKS": ["accounts.api.schema.add_private_operations"],
    # Request bodies as components of their own: a body has fields a response never has.
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "accounts.api.schema.ORDER_STATUSES",
        "TransferStatusEnum": "accounts.api.schema.TRANSFER_STATUSES",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Engine command log and snapshots.
ENGINE_SNAPSHOT_DIR = Path(os.environ.get("ENGINE_SNAPSHOT_DIR", config.VAR_DIR / "snapshots"))
ENGINE_SNAPSHOT_EVERY_S = float(os.environ.get("ENGINE_SNAPSHOT_EVERY_S", "60"))
ENGINE_SNAPSHOT_EVERY_COMMANDS = int(os.environ.get("ENGINE_SNAPSHOT_EVERY_COMMANDS", "200000"))
ENGINE_REPLY_TIMEOUT_S = float(os.environ.get("ENGINE_REPLY_TIMEOUT_S", "5"))
# One engine at a time (engine.lease): a successor takes over this long after a crash.
ENGINE_LEASE_TTL_S = float(os.environ.get("ENGINE_LEASE_TTL_S", "5"))
# The web refuses orders (503 MAINTENANCE) while the engine applies commands older than this:
# they would time out waiting anyway.
ENGINE_MAX_BACKLOG_S = float(os.environ.get("ENGINE_MAX_BACKLOG_S", str(ENGINE_REPLY_TIMEOUT_S)))
# A Redis that can lose acknowledged commands (no append-only file fsynced on every write) or
# evict them is refused at start unless this is set: for those who accept the risk.
REDIS_ACCEPT_DATA_LOSS = config.env_bool("REDIS_ACCEPT_DATA_LOSS", False)

# The worker checks the engine against the database this often (Celery beat: the Procfile's beat).
RECONCILE_EVERY_S = float(os.environ.get("RECONCILE_EVERY_S", "300"))
CELERY_BEAT_SCHEDULE = {
    "reconcile": {"task": "history.reconcile", "schedule": RECONCILE_EVERY_S},
}
CELERY_BEAT_SCHEDULER = "celery.beat:Scheduler"  # in memory: nothing to keep between runs

DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-password-123")

# LOG_FORMAT=json: one JSON object per line, for a log collector; with it, an access log line per
# HTTP request (ACCESS_LOG, which also works with the plain format).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
if config.env_bool("ACCESS_LOG", LOG_FORMAT == "json"):
    MIDDLEWARE.insert(1, "operations.logs.AccessLogMiddleware")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "operations.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Django's own "django" logger has a console handler in DEBUG and propagates to the root's:
    # without this every request warning was printed twice.
    "loggers": {"django": {"handlers": []}, "django.db.backends": {"level": "WARNING"}},
}
WHITENOISE_USE_FINDERS = DEBUG
