"""The one settings module: every deployment value comes from the environment (see .env.example)."""

import datetime as dt
import os
import tempfile
import warnings
from pathlib import Path

import csp.constants
import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _secret(name: str, default: str = "") -> str:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/Kubernetes secrets)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return env.str(name, default=default)


DEBUG = env.bool("DEBUG", default=False)
# Empty means "not configured": the system check tfoms.E001 refuses to serve without it unless DEBUG.
SECRET_KEY = _secret("SECRET_KEY") or "insecure-development-key-only-valid-with-debug-on"
SECRET_KEY_CONFIGURED = bool(_secret("SECRET_KEY"))
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "tfoms_portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "tfoms_portal",
    "audit",
    "servicelog",
    "registry",
    "identification",
    "attachment",
    "prophylaxis",
    "hospitalisation",
    "pharmacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "tfoms_portal.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "registry.access.WorkplaceMiddleware",
]

ROOT_URLCONF = "tfoms_portal.urls"
WSGI_APPLICATION = "tfoms_portal.wsgi.application"

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
                "registry.access.workplace_context",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded demo: WAL lets the scheduler thread write while pages read; waits instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        }
    )
    # Tests on a file too, as the demo runs: an in-memory database shared between the live server's
    # threads and the consumer's fails at once with "database table is locked" instead of waiting.
    # One file per test process, removed by the test runner at the end.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"tfoms-test-{os.getpid()}.sqlite3")
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # No process may hang on the database (issue 19 item 7): a connection is refused after
    # DB_CONNECT_TIMEOUT_SECONDS; a peer that stops answering is dropped by TCP keepalives and
    # tcp_user_timeout; the server ends a statement after DB_STATEMENT_TIMEOUT_SECONDS and a session
    # left idle inside a transaction (locks held) after DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS.
    # The server keeps alive its side too: the relay holds a key's session lock, outside any
    # transaction, while it waits for the broker; if its machine vanishes the server notices within
    # about a minute and frees the key for another relay.
    _statement_ms = env.int("DB_STATEMENT_TIMEOUT_SECONDS", default=600) * 1000
    _idle_ms = env.int("DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS", default=300) * 1000
    _keepalive_idle = env.int("DB_KEEPALIVES_IDLE_SECONDS", default=30)
    _keepalive_interval = min(10, _keepalive_idle)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "connect_timeout": env.int("DB_CONNECT_TIMEOUT_SECONDS", default=10),
            "keepalives": 1,
            "keepalives_idle": _keepalive_idle,
            "keepalives_interval": _keepalive_interval,
            "keepalives_count": 3,
            "tcp_user_timeout": env.int("DB_TCP_USER_TIMEOUT_SECONDS", default=60) * 1000,
            "options": (
                f"-c statement_timeout={_statement_ms} -c idle_in_transaction_session_timeout={_idle_ms}"
                f" -c tcp_keepalives_idle={_keepalive_idle} -c tcp_keepalives_interval={_keepalive_interval}"
                " -c tcp_keepalives_count=3"
            ),
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "tfoms_portal.admin_site.DcAdminPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

LANGUAGE_CODE = "ru"
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Yekaterinburg")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
WHITENOISE_USE_FINDERS = True  # serve app static files without collectstatic too (the demo)
# …so a missing STATIC_ROOT (the demo never runs collectstatic) is not worth a warning at each start.
warnings.filterwarnings("ignore", message="No directory at")
# gunicorn serves static files itself (WhiteNoise): one image, no extra web server needed.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Exchange folders (identification in/out, exports) and uploads live under one root: a shared volume
# in production, so any worker on any machine sees the same files.
STORAGE_ROOT = Path(env.str("STORAGE_ROOT", default=str(BASE_DIR / "var")))
MEDIA_ROOT = STORAGE_ROOT / "uploads"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("UPLOAD_MAX_MEMORY_BYTES", default=5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
UPLOAD_MAX_FILE_BYTES = env.int("UPLOAD_MAX_FILE_BYTES", default=50 * 1024 * 1024)

# Sessions expire after this many idle seconds: every request pushes the expiry forward.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
# Sessions in the database (any number of web processes). The demo keeps them in its one process's
# memory (the Makefile sets it): SQLite has one writer, and a session saved on every request would
# make each page wait for a run's transaction.
SESSION_ENGINE = env.str("SESSION_ENGINE", default="django.contrib.sessions.backends.db")
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_FAILURE_VIEW = "tfoms_portal.errors.csrf_failure"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content security policy (django-csp): scripts and styles only from our own static files — no
# inline script, no handler attribute, no eval (htmx runs with allowEval off, see base.html). The
# API's Swagger page is drf-spectacular's split view, whose start script is a file of its own too;
# only its inline widget styles are allowed, on that page alone (tfoms_portal/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.constants.SELF],
        "script-src": [csp.constants.SELF],
        "style-src": [csp.constants.SELF],
        "img-src": [csp.constants.SELF, "data:", "blob:"],
        "connect-src": [csp.constants.SELF],
        "object-src": [csp.constants.NONE],
        "base-uri": [csp.constants.NONE],
        "form-action": [csp.constants.SELF],
        "frame-ancestors": [csp.constants.NONE],
    }
}
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

# Failed logins within the window that lock further attempts: per username, and per client address
# (higher: a whole МО may share one address).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env.int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", default=50)
# Our own reverse proxies / load balancers: only their X-Forwarded-For is believed.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)

# The region: KOD_TF of F010 (59 = Пермский край). Codes of its МО and СМО start with it.
REGION_CODE = env.str("REGION_CODE", default="59")

# The fund's RabbitMQ. Empty = in-process (locmem) exchange with the built-in emulator.
TFOMS_AMQP_URL = _secret("TFOMS_AMQP_URL")
TFOMS_DECLARE_QUEUES = env.bool("TFOMS_DECLARE_QUEUES", default=True)
TFOMS_LOCMEM_PEER = env.str("TFOMS_LOCMEM_PEER", default="tfoms_emulator.handle")
# Queues of the other peers the in-process emulator plays (the pharmacy organisations' systems).
TFOMS_LOCMEM_PEER_QUEUE_PREFIXES = ["pharmacy."]
# The demo's fund answering identification files (watch(out_dir, in_dir, register_path)).
TFOMS_DEMO_IDENT_WATCHER = env.str("TFOMS_DEMO_IDENT_WATCHER", default="tfoms_emulator.ident.watch_forever")
# The demo's built-in fund also sends its own packages about persons (POLIS, CHECKPERS, PERSCHANGE,
# DOUBLES, IDLEPERSONS): the first batch a little after start, then a few at every interval.
TFOMS_DEMO_FUND_CHANGES = env.str("TFOMS_DEMO_FUND_CHANGES", default="tfoms_emulator.changes.changes_stream")
TFOMS_DEMO_CHANGES_FIRST_SECONDS = env.float("TFOMS_DEMO_CHANGES_FIRST_SECONDS", default=15)
# The demo's first order-263 run, so its in-process fund knows the hospitals' free beds early.
TFOMS_DEMO_HOSPITALS_FIRST_SECONDS = env.float("TFOMS_DEMO_HOSPITALS_FIRST_SECONDS", default=5)
TFOMS_DEMO_CHANGES_FIRST = env.int("TFOMS_DEMO_CHANGES_FIRST", default=60)
TFOMS_DEMO_CHANGES_EACH = env.int("TFOMS_DEMO_CHANGES_EACH", default=5)
TFOMS_DEMO_CHANGES_EVERY_SECONDS = env.float("TFOMS_DEMO_CHANGES_EVERY_SECONDS", default=300)
# The demo's fund refuses or leaves unanswered a share of one МО's packages, so "Отправить повторно"
# and "Не отправлять повторно" can be tried (issue 15 item 3); empty TFOMS_DEMO_FAULT_MO: none.
TFOMS_DEMO_FAULT_MO = env.list("TFOMS_DEMO_FAULT_MO", default=["590002"])
TFOMS_DEMO_REJECT_SHARE = env.float("TFOMS_DEMO_REJECT_SHARE", default=0.15)
TFOMS_DEMO_RPC_FAULT = env.str("TFOMS_DEMO_RPC_FAULT", default="")
TFOMS_DEMO_UNANSWERED_SHARE = env.float("TFOMS_DEMO_UNANSWERED_SHARE", default=0.1)
TFOMS_APP_ID = env.str("TFOMS_APP_ID", default="TfomsPortal")
# Queue names (DESIGN §3, formats §2.2) and a prefix for all of them (isolates test runs).
TFOMS_QUEUE_PREFIX = env.str("TFOMS_QUEUE_PREFIX", default="")
TFOMS_QUEUES = {
    "from_mis": env.str("TFOMS_QUEUE_FROM_MIS", default="tfoms.from_mis"),
    "from_mis_answer": env.str("TFOMS_QUEUE_FROM_MIS_ANSWER", default="tfoms.from_mis.answer"),
    "to_mis": env.str("TFOMS_QUEUE_TO_MIS", default="tfoms.to_mis"),
    "to_mis_answer": env.str("TFOMS_QUEUE_TO_MIS_ANSWER", default="tfoms.to_mis.answer"),
    "iszl_request": env.str("TFOMS_QUEUE_ISZL_REQUEST", default="iszl.request"),
    "iszl_reply": env.str("TFOMS_QUEUE_ISZL_REPLY", default="iszl.reply"),
    "iszl_rpc": env.str("TFOMS_QUEUE_ISZL_RPC", default="iszl.rpc"),
    # ours: the fund's replies to our RPC requests (reply_to); a named queue, not amq.rabbitmq.reply-to,
    # since the consumer process (any of them) takes the reply, not the web process that asked
    "rpc_reply": env.str("TFOMS_QUEUE_RPC_REPLY", default="tfoms.rpc.reply"),
}
# Synchronous requests to the fund (DESIGN §3 RPC): how long a page waits for the answer before its
# fallback (free beds: "ТФОМС не ответил …"; online identification: the batch queue, B8).
TFOMS_RPC_FREE_BEDS_SECONDS = env.float("TFOMS_RPC_FREE_BEDS_SECONDS", default=10.0)
TFOMS_RPC_IDENTIFY_SECONDS = env.float("TFOMS_RPC_IDENTIFY_SECONDS", default=30.0)
TFOMS_AMQP_HEARTBEAT = env.int("TFOMS_AMQP_HEARTBEAT", default=60)
TFOMS_AMQP_CONNECT_ATTEMPTS = env.int("TFOMS_AMQP_CONNECT_ATTEMPTS", default=3)
# Unconfirmed messages in flight, and how long to wait for the broker's confirms.
TFOMS_CONFIRM_WINDOW = env.int("TFOMS_CONFIRM_WINDOW", default=200)
TFOMS_CONFIRM_TIMEOUT_SECONDS = env.int("TFOMS_CONFIRM_TIMEOUT_SECONDS", default=30)
TFOMS_RELAY_BATCH = env.int("TFOMS_RELAY_BATCH", default=500)
TFOMS_CONSUMER_PREFETCH = env.int("TFOMS_CONSUMER_PREFETCH", default=50)
# Messages the consumer applies in one transaction (servicelog/inbox_batch.py); 1: one by one.
TFOMS_CONSUMER_BATCH = env.int("TFOMS_CONSUMER_BATCH", default=100)
# A batch the consumer could not apply (our database down) comes back after this many seconds, then
# twice as long each time up to a minute.
TFOMS_CONSUMER_RETRY_SECONDS = env.float("TFOMS_CONSUMER_RETRY_SECONDS", default=2.0)
# Automatic retries of "Ошибка отправки": back-off doubling from the base up to the max, then a person.
TFOMS_SEND_RETRY_BASE_SECONDS = env.int("TFOMS_SEND_RETRY_BASE_SECONDS", default=30)
TFOMS_SEND_RETRY_MAX_SECONDS = env.int("TFOMS_SEND_RETRY_MAX_SECONDS", default=3600)
# Automatic retries of an "Ошибка отправки" go on this long after its first failure (issue 19 item 8:
# a count of attempts ended them after ~3 h of an outage); then the package waits for a person.
TFOMS_SEND_RETRY_FOR_HOURS = env.float("TFOMS_SEND_RETRY_FOR_HOURS", default=72.0)
# Days after which old finished packages lose their personal data (body, data); metadata stays (C9).
TFOMS_PACKAGE_BODY_RETENTION_DAYS = env.int("TFOMS_PACKAGE_BODY_RETENTION_DAYS", default=365)
# A sent package without the fund's answer for this many hours is shown "нет ответа N ч" and reported.
# /metrics: a scraper's bearer token (empty: the ЦОД admin's session only); /healthz answers 503 when
# the oldest package due to be sent has waited longer than TFOMS_RELAY_LAG_ALERT_SECONDS.
TFOMS_METRICS_TOKEN = _secret("TFOMS_METRICS_TOKEN")
TFOMS_RELAY_LAG_ALERT_SECONDS = env.int("TFOMS_RELAY_LAG_ALERT_SECONDS", default=900)
TFOMS_REPLY_OVERDUE_HOURS = env.int("TFOMS_REPLY_OVERDUE_HOURS", default=4)

# Celery has its own broker, never the fund's. Empty = tasks run in-process (the embedded demo).
CELERY_BROKER_URL = _secret("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# Where a page's long work runs (tfoms_portal/background.py): Celery with a broker, else threads of
# the portal's own process (the demo); "inline" runs it in the request (the tests' default).
TFOMS_BACKGROUND = env.str("TFOMS_BACKGROUND", default="") or ("celery" if CELERY_BROKER_URL else "thread")
if TFOMS_BACKGROUND not in ("celery", "thread", "inline"):
    raise ImproperlyConfigured("TFOMS_BACKGROUND: celery, thread или inline")
TFOMS_BACKGROUND_THREADS = env.int("TFOMS_BACKGROUND_THREADS", default=2)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "close-dead-runs": {"task": "servicelog.close_dead_runs", "schedule": 60.0},
    # RPC calls nobody watches any more still get their fallback once their deadline passed
    "rpc-expire": {"task": "servicelog.rpc_expire", "schedule": 5.0},
    "relay": {"task": "servicelog.relay", "schedule": env.float("TFOMS_RELAY_EVERY_SECONDS", default=5.0)},
    "overdue-replies": {"task": "servicelog.notify_overdue", "schedule": 900.0},
    "purge-bodies": {"task": "servicelog.purge_bodies", "schedule": crontab(hour=3, minute=30)},
    "tfoms-auto": {
        "task": "servicelog.run_scheduled",
        "schedule": env.float("TFOMS_AUTO_EVERY_SECONDS", default=1800.0),
        "args": ("tfoms_auto",),
    },
    "iszl263": {  # order 263: every 15 minutes; free beds go once a day (formats §3.3)
        "task": "servicelog.run_scheduled",
        "schedule": env.float("TFOMS_ISZL_EVERY_SECONDS", default=900.0),
        "args": ("iszl263",),
    },
    "ident-batch": {
        "task": "servicelog.run_scheduled",
        "schedule": crontab(hour=env.int("IDENT_BATCH_HOUR", default=1), minute=0),
        "args": ("ident_batch",),
    },
    "pharmacy": {  # directories for ИС Фармация, nightly (SPEC F3)
        "task": "servicelog.run_scheduled",
        "schedule": crontab(hour=env.int("PHARMACY_HOUR", default=2), minute=30),
        "args": ("pharmacy",),
    },
    "ident-responses": {
        "task": "servicelog.run_scheduled",
        "schedule": env.float("IDENT_RESPONSES_EVERY_SECONDS", default=300.0),
        "args": ("ident_responses",),
    },
}
# The attachment package the region's fund takes: PERSONATTACHDISTRICT (default) or PERSONATTACH.
TFOMS_ATTACHMENT_PACKAGE = env.str("TFOMS_ATTACHMENT_PACKAGE", default="PERSONATTACHDISTRICT")
# A run that looks at "changes since the last successful run" (order 263) starts that long before
# it, so a change committed just after that run had read is not missed.
TFOMS_CHANGES_OVERLAP_SECONDS = env.int("TFOMS_CHANGES_OVERLAP_SECONDS", default=3600)
# The scheduled attachment run looks at changes of this many days back (the manual's bounded period).
TFOMS_ATTACHMENT_PERIOD_DAYS = env.int("TFOMS_ATTACHMENT_PERIOD_DAYS", default=31)
# The longest reporting period of the attachment file export (D1), days.
ATTACHMENT_EXPORT_MAX_DAYS = env.int("ATTACHMENT_EXPORT_MAX_DAYS", default=366)
# Batch identification: records per request file (formats §1.2).
IDENT_RECORDS_PER_FILE = env.int("IDENT_RECORDS_PER_FILE", default=200)

# A run without a heartbeat for this long is closed as "Завершено с ошибкой" by the sweep (E3).
TFOMS_RUN_DEAD_AFTER_SECONDS = env.int("TFOMS_RUN_DEAD_AFTER_SECONDS", default=15 * 60)

DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="demo")

REST_FRAMEWORK = {
    # The token first: a wrong `Authorization: Token` is refused (401) even beside a valid session
    # cookie, instead of being ignored while the session answers (issue 16).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "tfoms_portal.api_auth.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["registry.access.HasWorkplace"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
# API tokens (django-rest-knox): hashed in the database, expiring, revocable; `Authorization: Token …`.
KNOX_TOKEN_MODEL = "registry.ApiToken"
# knox's own migrations create its AuthToken table even when the model is swapped for ours; an unused
# table holding a key to auth_user would only stop flushes (TRUNCATE) and confuse readers.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": dt.timedelta(hours=env.int("API_TOKEN_TTL_HOURS", default=10)),
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "TFOMS portal API",
    "DESCRIPTION": "Обмен МО с ТФОМС: реестр, идентификация, журнал работы сервисов",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tfoms_portal.api_schema.add_refusals",
    ],
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="tfoms-portal@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # one line per relay pass, per AMQP connection step: noise
    "loggers": {"celery.app.trace": {"level": "WARNING"}, "pika": {"level": "WARNING"}},
}
