"""The one settings module. Deployments differ only by ANSHIN_* environment variables.

Every setting has a safe default so that `anshin demo` runs with no configuration at all.
Secrets that the demo needs (secret key, data key) are generated once under ANSHIN_HOME.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

from anshin.core.envsecrets import home_dir, persistent_secret

HOME = home_dir()
BASE_DIR = Path(__file__).resolve().parent

BASE_URL = os.environ.get("ANSHIN_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
_base = urlsplit(BASE_URL)
HTTPS = _base.scheme == "https"

SECRET_KEY = os.environ.get("ANSHIN_SECRET_KEY") or persistent_secret(HOME / "secret.key")
DATA_KEY = os.environ.get("ANSHIN_DATA_KEY") or persistent_secret(HOME / "data.key")
# Key rotation: the previous data keys, comma-separated, until `anshin keys rotate` is done; and
# the look-up (hash) key, which is never rotated (pin it to the original data key first).
DATA_KEYS_RETIRED = [k for k in os.environ.get("ANSHIN_DATA_KEYS_RETIRED", "").split(",") if k]
LOOKUP_KEY = os.environ.get("ANSHIN_LOOKUP_KEY") or DATA_KEY
DEBUG = os.environ.get("ANSHIN_DEBUG", "") == "1"

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ANSHIN_ALLOWED_HOSTS", _base.hostname or "127.0.0.1").split(",")
    if h.strip()
]
for _local in ("127.0.0.1", "localhost"):
    if _base.hostname in ("127.0.0.1", "localhost") and _local not in ALLOWED_HOSTS:
        ALLOWED_HOSTS.append(_local)
CSRF_TRUSTED_ORIGINS = [f"{_base.scheme}://{_base.netloc}"]
TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("ANSHIN_TRUSTED_PROXIES", "").split(",") if p.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "anshin.core",
    "anshin.alerts",
    "anshin.residents",
    "anshin.directory",
    "anshin.delivery",
    "anshin.console",
    "anshin.inbound",
    "anshin.api",
    "anshin.channels",
    "anshin.governance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "anshin.core.otp.StaffTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out attempt into the lockout page
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out username+IP before the password
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "anshin.urls"
WSGI_APPLICATION = "anshin.wsgi.application"

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
                "django.template.context_processors.i18n",
                "anshin.core.context.city",
            ],
        },
    },
]

_db_url = os.environ.get("ANSHIN_DATABASE_URL", "")
if _db_url:
    DATABASES = {"default": dj_database_url.parse(_db_url, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(HOME / "anshin.sqlite3"),
            # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at
            # BEGIN so two writers queue on the busy timeout instead of failing mid-transaction.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON;"
                ),
            },
            "TEST": {"NAME": str(HOME / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"

# Default language of pages, mail footers and command output; residents switch per browser.
LANGUAGE_CODE = os.environ.get("ANSHIN_LANGUAGE", "ja")
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# HTTPS-only settings follow the scheme of ANSHIN_BASE_URL, so a loopback http:// demo works
# and an https:// deployment passes `anshin check --deploy`.
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is a one-way commitment for the whole domain; a city decides it, not us.
    "security.W021",
]

# --- Mail -----------------------------------------------------------------------------------
SMTP_URL = os.environ.get("ANSHIN_SMTP_URL", "smtp://127.0.0.1:1025")
MAIL_FROM = os.environ.get("ANSHIN_FROM", f"anshin@{_base.hostname or 'localhost'}")
INBOUND_DOMAIN = os.environ.get("ANSHIN_INBOUND_DOMAIN", _base.hostname or "localhost")
BOUNCE_DOMAIN = os.environ.get("ANSHIN_BOUNCE_DOMAIN", INBOUND_DOMAIN)
CITY_NAME = os.environ.get("ANSHIN_CITY_NAME", "安心市")
INQUIRY_CONTACT = os.environ.get(
    "ANSHIN_INQUIRY_CONTACT", "安心市 地域安全課 電話 042-000-0000（平日 8:30〜17:15）"
)
CONFIRMATION_MAX_AGE = 72 * 3600
CONFIRMATION_BUDGET = 3  # confirmation mails per address per 24 h
CONFIRMATION_MIN_INTERVAL = 10 * 60  # seconds between two confirmation mails to one address
IP_SUBSCRIBE_LIMIT = int(os.environ.get("ANSHIN_IP_SUBSCRIBE_LIMIT", "30"))  # per hour
SEND_BATCH_SIZE = int(os.environ.get("ANSHIN_SEND_BATCH_SIZE", "2000"))
# SMTP connections each worker process keeps busy at once (threads within a batch).
SEND_CONNECTIONS = int(os.environ.get("ANSHIN_SEND_CONNECTIONS", "2"))
SEND_LEASE_SECONDS = int(os.environ.get("ANSHIN_SEND_LEASE_SECONDS", "300"))
RETRY_HORIZON_SECONDS = int(os.environ.get("ANSHIN_RETRY_HORIZON_SECONDS", str(24 * 3600)))
SCHEDULER_INTERVAL = float(os.environ.get("ANSHIN_SCHEDULER_INTERVAL", "5"))
CATCHER_DIR = HOME / "catcher"
DEMO = os.environ.get("ANSHIN_DEMO", "") == "1"

# --- Celery ---------------------------------------------------------------------------------
QUEUE_DIR = HOME / "queue"
CELERY_BROKER_URL = os.environ.get("ANSHIN_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem"):
    for _folder in ("messages", "control"):
        (QUEUE_DIR / _folder).mkdir(parents=True, exist_ok=True)
    # One folder for both directions: every process produces to and consumes from it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(QUEUE_DIR / "messages"),
        "data_folder_out": str(QUEUE_DIR / "messages"),
        "control_folder": str(QUEUE_DIR / "control"),
        "polling_interval": 0.05,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = os.environ.get("ANSHIN_TASKS_EAGER", "") == "1"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Three queues, most urgent first: alerts (fan-out and sending; staff call-outs later),
# residents (confirmation mails), bulk (the yearly receipt check, migration notices). A worker
# given several serves them in this order where the broker can (Redis); `serve` and `demo` also
# run a worker for alerts alone, so no backlog of other work can hold an alert up.
QUEUES_BY_PRIORITY = ("alerts", "residents", "bulk")
CELERY_TASK_DEFAULT_QUEUE = "alerts"
CELERY_TASK_ROUTES = {
    "anshin.notification.send": {"queue": "residents"},
    "anshin.bulk.*": {"queue": "bulk"},
}
if CELERY_BROKER_URL.startswith(("redis", "rediss")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"queue_order_strategy": "priority"}
    # Several cities on one Redis: each gets its own key prefix (or its own database number).
    if os.environ.get("ANSHIN_BROKER_PREFIX"):
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = os.environ["ANSHIN_BROKER_PREFIX"]
CELERY_TIMEZONE = "Asia/Tokyo"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ANSHIN_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # aiosmtpd logs every peer at INFO; the catcher and inbound server need only problems.
        "mail.log": {"level": "WARNING"},
        "flufl.bounce": {"level": "WARNING"},  # logs every detector it runs at INFO
    },
}
RETRY_BASE_SECONDS = float(os.environ.get("ANSHIN_RETRY_BASE_SECONDS", "15"))
RETRY_MAX_SECONDS = float(os.environ.get("ANSHIN_RETRY_MAX_SECONDS", "600"))
# A queued row whose task message has not been picked up within this time is queued again
# (the broker may have lost it); a duplicate is harmless because claims are conditional.
REQUEUE_AFTER_SECONDS = float(os.environ.get("ANSHIN_REQUEUE_AFTER_SECONDS", "60"))
# Bounces: a hard bounce (5.1.x) or a complaint suppresses at once; soft bounces when this many
# arrive within this many days.
SOFT_BOUNCE_LIMIT = int(os.environ.get("ANSHIN_SOFT_BOUNCE_LIMIT", "3"))
SOFT_BOUNCE_DAYS = int(os.environ.get("ANSHIN_SOFT_BOUNCE_DAYS", "14"))
BOUNCE_MAX_BYTES = int(os.environ.get("ANSHIN_BOUNCE_MAX_BYTES", str(5 * 1024 * 1024)))
# The relay's (or ESP's) quota, honoured across all workers: at most this many connections at
# once (0: no limit) and at most this many messages per second in all (0: no limit; a rate
# needs a connection limit, since each connection is paced at rate / connections).
RELAY_MAX_CONNECTIONS = int(os.environ.get("ANSHIN_RELAY_MAX_CONNECTIONS", "0"))
RELAY_MAX_RATE = float(os.environ.get("ANSHIN_RELAY_MAX_RATE", "0"))
RELAY_SLOT_WAIT_SECONDS = float(os.environ.get("ANSHIN_RELAY_SLOT_WAIT_SECONDS", "30"))
# Staff directory CSV: larger files are refused before they are read in full.
DIRECTORY_IMPORT_MAX_BYTES = int(
    os.environ.get("ANSHIN_DIRECTORY_MAX_BYTES", str(20 * 1024 * 1024))
)
DIRECTORY_IMPORT_MAX_ROWS = int(os.environ.get("ANSHIN_DIRECTORY_MAX_ROWS", "100000"))

# --- Yearly receipt check and migration notices (residents) -----------------------------------
# The check's mail goes out on its date at this hour (Asia/Tokyo): not at midnight.
RECEIPT_CHECK_SEND_HOUR = int(os.environ.get("ANSHIN_RECEIPT_CHECK_SEND_HOUR", "10"))
RECEIPT_CHECK_MAX_DAYS = 180  # longest time between the check's date and its deadline
RECEIPT_CHECK_MAX_LEAD_DAYS = 366  # how far ahead a check can be scheduled
# Residents' CSV (migration from the old system) uploaded in the console: larger is refused.
RESIDENT_IMPORT_MAX_BYTES = int(
    os.environ.get("ANSHIN_RESIDENT_IMPORT_MAX_BYTES", str(20 * 1024 * 1024))
)

# --- Staff call-outs and SMS (directory) ------------------------------------------------------
# SMS gateway as an Apprise URL (e.g. smseagle://token@gateway.city.local); empty: no SMS.
SMS_URL = os.environ.get("ANSHIN_SMS_URL", "")
# A dead gateway must not hold a worker: seconds to connect, and again for the answer.
SMS_TIMEOUT_SECONDS = float(os.environ.get("ANSHIN_SMS_TIMEOUT_SECONDS", "5"))
# Longer texts are refused (permanent), not split or cut: 670 = ten Japanese (UCS-2) parts.
SMS_MAX_CHARS = int(os.environ.get("ANSHIN_SMS_MAX_CHARS", "670"))
# Staff call-outs: the reply deadline the compose page proposes, and how often the board
# refreshes itself.
CALLOUT_DEFAULT_DEADLINE_SECONDS = int(
    os.environ.get("ANSHIN_CALLOUT_DEFAULT_DEADLINE_SECONDS", str(2 * 3600))
)
CALLOUT_BOARD_REFRESH_SECONDS = int(os.environ.get("ANSHIN_CALLOUT_BOARD_REFRESH_SECONDS", "3"))

# --- Retention and certificates (governance) ---
# Days each kind of data is kept (P1); the nightly purge deletes what is older and issues a
# signed deletion certificate per kind. Unsubscribed and long-paused addresses are reduced to
# their keyed hash (so they stay suppressed); the rest is deleted.
RETENTION_DAYS = {
    kind: int(os.environ.get(f"ANSHIN_RETENTION_{kind.upper()}_DAYS", default))
    for kind, default in (
        ("pending", "7"),  # registrations never confirmed (the link lives 72 h)
        ("unsubscribed", "30"),
        # A paused resident may resume with one tap for this long (receipt check, S10).
        ("suspended", "90"),
        ("delivery", "400"),  # a year of alert and notification mail records, and bounces
        ("throttle", "2"),  # per-address mail budgets and per-client form counters (24 h)
        ("audit", "1827"),  # five years
        # Forwarded police and school notices may name people; a draft serves only its review.
        ("intake", "90"),
        # Staff sign-in records kept by django-axes (username, address of the client).
        ("logins", "30"),
        # Who was asked in a staff call-out and what they answered, counted from the reply
        # deadline; each call-out's counts per answer stay in the audit log.
        ("replies", "90"),
    )
}
# The purge runs once a day, at the first scheduler tick after this hour (Asia/Tokyo).
RETENTION_HOUR = int(os.environ.get("ANSHIN_RETENTION_HOUR", "3"))
RETENTION_BATCH = int(os.environ.get("ANSHIN_RETENTION_BATCH", "1000"))
# How long backups are kept: a deletion certificate says when the last copy ages out.
BACKUP_RETENTION_DAYS = int(os.environ.get("ANSHIN_BACKUP_RETENTION_DAYS", "30"))
# Ed25519 private key (PEM, or 32 bytes in base64) that signs deletion certificates.
SIGNING_KEY = os.environ.get("ANSHIN_SIGNING_KEY") or persistent_secret(HOME / "signing.key")
# A CJK font file for the certificate PDF; empty: ask fontconfig for Noto Sans CJK JP.
CERTIFICATE_FONT = os.environ.get("ANSHIN_CERTIFICATE_FONT", "")
# fontTools logs every glyph it subsets at INFO, one certificate at a time.
LOGGING["loggers"]["fontTools"] = {"level": "WARNING"}  # type: ignore[index]

# --- Inbound mail (inbound) -----------------------------------------------------------------
# `anshin inbound` (aiosmtpd). `anshin serve` starts it only when ANSHIN_INBOUND_PORT is set.
INBOUND_PORT = int(os.environ.get("ANSHIN_INBOUND_PORT", "0") or "0")
INBOUND_HOST = os.environ.get("ANSHIN_INBOUND_HOST", "127.0.0.1")
# Local parts of the addresses the listener accepts at INBOUND_DOMAIN (plus the VERP bounce
# addresses at BOUNCE_DOMAIN); every other recipient is refused at RCPT.
INBOUND_REGISTER_LOCAL = os.environ.get("ANSHIN_INBOUND_REGISTER_LOCAL", "touroku")
INBOUND_INTAKE_LOCAL = os.environ.get("ANSHIN_INBOUND_INTAKE_LOCAL", "intake")
# Who may send notices to the intake address: full addresses or "@domain" (that domain and
# its subdomains), comma-separated. Empty: intake refuses every sender.
INBOUND_INTAKE_SENDERS = [
    s.strip().lower()
    for s in os.environ.get("ANSHIN_INBOUND_INTAKE_SENDERS", "").split(",")
    if s.strip()
]
INBOUND_MAX_BYTES = int(os.environ.get("ANSHIN_INBOUND_MAX_BYTES", str(1024 * 1024)))
# Mails accepted per hour from one envelope sender and from one client IP (registration and
# intake; bounces are exempt: each is HMAC-checked and recorded once per mail we sent).
INBOUND_SENDER_LIMIT = int(os.environ.get("ANSHIN_INBOUND_SENDER_LIMIT", "10"))
INBOUND_CLIENT_LIMIT = int(os.environ.get("ANSHIN_INBOUND_CLIENT_LIMIT", "60"))

# --- API for integrators (api) --------------------------------------------------------------
# The browsable API docs page (/api/docs); the OpenAPI document (/api/openapi.json) is always
# served. Off in production unless asked for, on with ANSHIN_DEBUG.
API_DOCS = os.environ.get("ANSHIN_API_DOCS", "1" if DEBUG else "") == "1"

# --- Governance registers and the council report (governance) --------------------------------
# The council report's self-inspection (P8) asks whether these secrets came from the
# environment (kept apart from the machine) or were generated under ANSHIN_HOME.
DATA_KEY_FROM_ENV = bool(os.environ.get("ANSHIN_DATA_KEY"))
SIGNING_KEY_FROM_ENV = bool(os.environ.get("ANSHIN_SIGNING_KEY"))
# The self-inspection expects a backup (`anshin backup`) at least this often.
BACKUP_MAX_AGE_DAYS = int(os.environ.get("ANSHIN_BACKUP_MAX_AGE_DAYS", "7"))
# Open near-misses and incidents not reviewed for this many days are flagged (S12).
INCIDENT_REVIEW_DAYS = int(os.environ.get("ANSHIN_INCIDENT_REVIEW_DAYS", "30"))
# Names of the processors (委託先) shown on the processors page; empty: only the host.
MAIL_PROCESSOR_NAME = os.environ.get("ANSHIN_MAIL_PROCESSOR_NAME", "")
SMS_PROCESSOR_NAME = os.environ.get("ANSHIN_SMS_PROCESSOR_NAME", "")

# --- Staff login: two factors, lockout (core) ---
# Every staff account signs in with a password and a TOTP code (django-otp); one-time backup
# codes cover a lost phone. anshin.core.otp.StaffTwoFactorMiddleware enforces it on /console/
# and /admin/. django-axes locks out a username *from one address* after too many wrong
# passwords, so an attacker elsewhere cannot lock a clerk out of the console.
LOGIN_FAILURE_LIMIT = int(os.environ.get("ANSHIN_LOGIN_FAILURE_LIMIT", "5"))
LOGIN_COOLOFF_MINUTES = int(os.environ.get("ANSHIN_LOGIN_COOLOFF_MINUTES", "15"))
AXES_ENABLED = True
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The same client address as everywhere else: X-Forwarded-For only from ANSHIN_TRUSTED_PROXIES.
AXES_CLIENT_IP_CALLABLE = "anshin.core.http.client_ip"
AXES_LOCKOUT_CALLABLE = "anshin.core.otp_views.lockout"
# Axes logs usernames and addresses at WARNING; the log line names the path only.
AXES_VERBOSE = False
AXES_CLIENT_STR_CALLABLE = "anshin.core.otp.axes_client_str"
AXES_USERNAME_CALLABLE = "anshin.core.otp.axes_username"
AXES_SENSITIVE_PARAMETERS = ["username", "password", "token"]
# Lockout needs only the wrong-password records (AccessAttempt, cleared on success and after
# the cool-off). Sign-ins are in the audit log by account id (no address, no browser), so axes'
# own log of every sign-in (username, IP, user agent) and of every failure stays off; what axes
# holds is deleted after ANSHIN_RETENTION_LOGINS_DAYS (retention kind "logins").
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
OTP_TOTP_ISSUER = f"{CITY_NAME} anshin"
BACKUP_CODE_COUNT = 10
# Axes reports every successful sign-in at INFO; failures and lockouts (WARNING) are enough.
LOGGING["loggers"]["axes"] = {"level": "WARNING"}  # type: ignore[index]

# --- Social channels (channels) ---
# Each alert is also posted to the enabled channels of its category (X, Mastodon, Bluesky,
# LINE, Slack, webhooks) through Apprise. A dead platform must not hold a worker: seconds to
# connect, and again for the answer.
CHANNEL_TIMEOUT_SECONDS = float(os.environ.get("ANSHIN_CHANNEL_TIMEOUT_SECONDS", "10"))
# Attempts per post (5xx, 429, no answer are retried with backoff; other refusals are not),
# never past the alert's expiry.
CHANNEL_MAX_ATTEMPTS = int(os.environ.get("ANSHIN_CHANNEL_MAX_ATTEMPTS", "6"))
CHANNEL_RETRY_BASE_SECONDS = float(os.environ.get("ANSHIN_CHANNEL_RETRY_BASE_SECONDS", "30"))
CHANNEL_RETRY_MAX_SECONDS = float(os.environ.get("ANSHIN_CHANNEL_RETRY_MAX_SECONDS", "900"))
# A post still "posting" after this long lost its worker and is tried again.
CHANNEL_LEASE_SECONDS = float(os.environ.get("ANSHIN_CHANNEL_LEASE_SECONDS", "120"))
# Alerts published this recently get the posts their publishing process did not live to create.
CHANNEL_CATCH_UP_SECONDS = int(os.environ.get("ANSHIN_CHANNEL_CATCH_UP_SECONDS", "900"))
