"""Ringround settings: everything comes from the environment.

With nothing set, Ringround keeps a SQLite database and its secret key in a data folder
(``./ringround-data`` or ``$RINGROUND_DATA``), so one command gives a working site.
Production points ``DATABASE_URL`` at PostgreSQL.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("RINGROUND_DATA", "ringround-data")).resolve()


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def load_secret_key() -> str:
    """Use SECRET_KEY, or one generated once and kept in the data folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = load_secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "ringround.accounts",
    "ringround.contacts",
    "ringround.compliance",
    "ringround.campaigns",
    "ringround.calling",
    "ringround.imports",
    "ringround.audit",
    "ringround.reports",
    "ringround.api",
    "ringround.privacy",
    "ringround.backups",
    "ringround.webhooks",
    "ringround.phonebanks",
    "ringround.telephony",
    "ringround.sharing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ringround.middleware.SecurityHeadersMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Claim and outcome with an API token are answered here, before the rest (its docstring).
    "ringround.api.middleware.CallingLoopMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "ringround.accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ringround.api.middleware.DatabaseUnavailableMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ringround.urls"
WSGI_APPLICATION = "ringround.wsgi.application"

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
                "ringround.accounts.context_processors.roles",
            ],
        },
    },
]


# Behind a connection pooler in transaction mode (PgBouncer's pool_mode = transaction) a
# connection's session state does not last past a transaction: server-side cursors are off,
# and so are prepared statements unless RINGROUND_PREPARE_THRESHOLD says the pooler keeps them
# (PgBouncer 1.21+ with max_prepared_statements). deploy/README.md says which mode to choose.
TRANSACTION_POOLER = env_bool("RINGROUND_TRANSACTION_POOLER")


def prepare_threshold() -> int | None:
    """RINGROUND_PREPARE_THRESHOLD: after how many uses psycopg prepares a statement (2; off
    behind a transaction pooler), or ``off``: the statements then still bind on the server,
    unnamed, and PostgreSQL plans them on every call."""
    default = "off" if TRANSACTION_POOLER else "2"
    value = os.environ.get("RINGROUND_PREPARE_THRESHOLD", default).strip().lower()
    return None if value in {"off", "none", ""} else int(value)


def database_config(url: str | None = None) -> dict:
    """SQLite in the data folder unless DATABASE_URL (or the ``url`` given) says otherwise."""
    url = url or os.environ.get("DATABASE_URL")
    if url:
        config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")))
        config.setdefault("OPTIONS", {})
        # The calling loop's hand-written statements (ringround/rawsql.py) bind on the server;
        # psycopg prepares each after its second use, so PostgreSQL plans it once per
        # connection rather than on every call. Django's own queries bind on the client and
        # are never prepared.
        config["OPTIONS"].setdefault("prepare_threshold", prepare_threshold())
        # Off by default: the check is a SELECT 1 before every request's first query, a
        # round trip the calling loop cannot afford. A connection that broke (database
        # restarted) fails its request with 503 + Retry-After and is replaced for the next one.
        config["CONN_HEALTH_CHECKS"] = env_bool("CONN_HEALTH_CHECKS")
        config["DISABLE_SERVER_SIDE_CURSORS"] = TRANSACTION_POOLER
    else:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        config = {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA_DIR / "ringround.sqlite3"}
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Writers queue behind one another instead of failing. SQLite ignores
        # select_for_update(), so IMMEDIATE (the write lock at BEGIN) is what serialises claims.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


DATABASES = {"default": database_config()}
if os.environ.get("RINGROUND_TEST_DB_NAME"):
    # Lets two test runs share one PostgreSQL server without dropping each other's database.
    DATABASES["default"]["TEST"] = {"NAME": os.environ["RINGROUND_TEST_DB_NAME"]}
# A streaming standby of the primary: reports and exports read from it while it is at most
# RINGROUND_STANDBY_MAX_LAG_SECONDS behind, else from the primary (ringround/standby.py).
# Everything that claims or records calls uses the primary.
if os.environ.get("DATABASE_STANDBY_URL"):
    DATABASES["standby"] = database_config(os.environ["DATABASE_STANDBY_URL"])
    DATABASES["standby"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["ringround.standby.StandbyRouter"]
RINGROUND_STANDBY_MAX_LAG_SECONDS = float(os.environ.get("RINGROUND_STANDBY_MAX_LAG_SECONDS", "10"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Proxies in front (deploy/nginx.conf) whose X-Forwarded-For is believed, so that the audit
# trail records the person's address rather than the proxy's.
RINGROUND_TRUSTED_PROXIES = env_list("RINGROUND_TRUSTED_PROXIES")
# Login throttling: five failures lock the account and address out for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("RINGROUND_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("RINGROUND_LOGIN_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The client's address as the audit trail sees it (behind a trusted proxy, not the proxy's).
AXES_CLIENT_IP_CALLABLE = "ringround.audit.services.client_ip"
# Failed sign-ins one address may make across all accounts in AXES_COOLOFF_TIME (password
# spraying stays under each account's own limit).
RINGROUND_LOGIN_FAILURES_PER_ADDRESS = int(
    os.environ.get("RINGROUND_LOGIN_FAILURES_PER_ADDRESS", "20")
)
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
# Joining a campaign is earned, not free (campaigns.services, calling.rules).
# Sign-ups through one campaign's invite link: per client address per hour, and in all per hour.
RINGROUND_SIGNUPS_PER_ADDRESS_PER_HOUR = int(
    os.environ.get("RINGROUND_SIGNUPS_PER_ADDRESS_PER_HOUR", "5")
)
RINGROUND_SIGNUPS_PER_CAMPAIGN_PER_HOUR = int(
    os.environ.get("RINGROUND_SIGNUPS_PER_CAMPAIGN_PER_HOUR", "300")
)
# Organisers see an address as a pattern once this many volunteers signed up from it.
RINGROUND_SIGNUPS_FLAGGED_PER_ADDRESS = int(
    os.environ.get("RINGROUND_SIGNUPS_FLAGGED_PER_ADDRESS", "3")
)
# Days an email confirmation link works.
RINGROUND_VERIFY_EMAIL_DAYS = float(os.environ.get("RINGROUND_VERIFY_EMAIL_DAYS", "3"))
# Phone-bank sessions: when the reminder goes (``ringround manage send_session_reminders``
# from cron), and where links in emails sent without a request point.
RINGROUND_SESSION_REMINDER_MINUTES = int(
    os.environ.get("RINGROUND_SESSION_REMINDER_MINUTES", "120")
)
RINGROUND_SITE_URL = os.environ.get("RINGROUND_SITE_URL", "")
# Telephony: numbers predictive dialing never calls (the law forbids it there: +1, US mobiles
# without consent under the TCPA, which a +1 number cannot be told apart from).
# A volunteer's own phone is rung at most this often an hour per campaign (each ring costs).
RINGROUND_LINE_RINGS_PER_HOUR = int(os.environ.get("RINGROUND_LINE_RINGS_PER_HOUR", "12"))
# Let a team's provider address be plain http or on a private network (a local provider).
RINGROUND_TELEPHONY_ALLOW_PRIVATE = os.environ.get("RINGROUND_TELEPHONY_ALLOW_PRIVATE") == "1"
RINGROUND_PREDICTIVE_NEVER = [
    prefix.strip()
    for prefix in os.environ.get("RINGROUND_PREDICTIVE_NEVER", "+1").split(",")
    if prefix.strip()
]
# A volunteer's hourly claims: this many to start with, and this many more for each real call
# (an outcome recorded at least RINGROUND_REAL_CALL_SECONDS after the contact was handed out),
# never more than the campaign's claims_per_hour.
RINGROUND_NEW_VOLUNTEER_CLAIMS = int(os.environ.get("RINGROUND_NEW_VOLUNTEER_CLAIMS", "20"))
RINGROUND_CLAIMS_PER_CALL = int(os.environ.get("RINGROUND_CLAIMS_PER_CALL", "2"))
RINGROUND_REAL_CALL_SECONDS = int(os.environ.get("RINGROUND_REAL_CALL_SECONDS", "20"))
# Organisers see a volunteer flagged once this many of their claims were not followed by calls.
RINGROUND_FLAG_UNMATCHED_CLAIMS = int(os.environ.get("RINGROUND_FLAG_UNMATCHED_CLAIMS", "15"))
# A campaign's contacts handed out per hour when its organisers set no ceiling: a floor, plus
# this many for each volunteer who recorded a conversation in the last day (never per account).
RINGROUND_CONTACTS_PER_HOUR_FLOOR = int(os.environ.get("RINGROUND_CONTACTS_PER_HOUR_FLOOR", "200"))
RINGROUND_CONTACTS_PER_HOUR_PER_CALLER = int(
    os.environ.get("RINGROUND_CONTACTS_PER_HOUR_PER_CALLER", "60")
)
# Two-factor (TOTP): optional for organisers, required for admins when the deployment says so.
RINGROUND_REQUIRE_ADMIN_2FA = env_bool("RINGROUND_REQUIRE_ADMIN_2FA")
OTP_TOTP_ISSUER = "Ringround"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
        if os.environ.get("REDIS_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Sessions: with Redis, read from the cache and written through to the database, so several
# app servers share them, a signed-in person costs no database read per page, and a Redis
# restart signs nobody out (the signed-in sessions list, accounts.UserSession, stays true).
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if os.environ.get("REDIS_URL")
    else "django.contrib.sessions.backends.db"
)

TASKS = {
    "default": {
        "BACKEND": os.environ.get("RINGROUND_TASKS_BACKEND", "django_tasks_db.DatabaseBackend")
    }
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files are served by WhiteNoise from STATIC_ROOT, which `ringround serve` and `ringround
# demo` fill (collectstatic) before serving: each file's name carries a hash of its content, so
# it is cached for a year (immutable), and gzip and brotli copies are made once, not per
# request. With DEBUG the files come straight from the package, so an edit shows at once.
# The tests use the package's files too (tests/conftest.py): pages under test need no
# collectstatic, and tests/test_static.py runs the production arrangement itself.
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or DATA_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = DATA_DIR / "media"

# Web security: on by default, HTTPS-only cookies when the deployment says it serves HTTPS.
SECURE_HTTPS = env_bool("RINGROUND_HTTPS")
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS
SECURE_HSTS_SECONDS = 31536000 if SECURE_HTTPS else 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE_HTTPS else None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(60 * 60 * 12)))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/v1/docs"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
RINGROUND_MAX_UPLOAD_BYTES = int(os.environ.get("RINGROUND_MAX_UPLOAD_MB", "100")) * 1024 * 1024
# Days after a contact's last campaign finished before `apply_retention` erases them; 0 = off.
# PECR: a campaign calling UK numbers needs its team's TPS/CTPS screening under 28 days old.
# Off only on a site that never makes direct-marketing calls to UK numbers.
RINGROUND_TPS_SCREENING_REQUIRED = env_bool("RINGROUND_TPS_SCREENING_REQUIRED", True)
RINGROUND_RETENTION_DAYS = int(os.environ.get("RINGROUND_RETENTION_DAYS", "0"))
# What imports keep besides contacts (previews, rejected rows) is purged this many days after
# an import finished; an upload never mapped is deleted after this many hours.
RINGROUND_IMPORT_COPIES_DAYS = int(os.environ.get("RINGROUND_IMPORT_COPIES_DAYS", "30"))
RINGROUND_ABANDONED_UPLOAD_HOURS = int(os.environ.get("RINGROUND_ABANDONED_UPLOAD_HOURS", "24"))
# Imports: rows per committed batch, and processes cleaning phone numbers (unset: one for a
# small file, up to four for a big one).
RINGROUND_IMPORT_BATCH = int(os.environ.get("RINGROUND_IMPORT_BATCH", "10000"))
RINGROUND_IMPORT_WORKERS = (
    int(os.environ["RINGROUND_IMPORT_WORKERS"])
    if os.environ.get("RINGROUND_IMPORT_WORKERS")
    else None
)
# How contact imports write on PostgreSQL: "batches" (matched and written batch by batch),
# "staged" (new people COPYed at once, the rest staged and merged at the end; imports.staged),
# or "auto": staged for files of 4 MB and more. Batches by default: on the quiet 2-core test
# machine the two measure within a tenth of each other (bench/import, a million rows, three
# runs: 28.0-29.3 s staged, 29.5-32.6 s batches; 42-44 CPU seconds against 46-51). SQLite
# always writes batch by batch.
RINGROUND_IMPORT_ENGINE = os.environ.get("RINGROUND_IMPORT_ENGINE", "batches")
# Seconds an app process trusts an API token it has checked (a revocation takes this long to
# reach the other processes).
RINGROUND_API_TOKEN_CACHE_SECONDS = float(os.environ.get("RINGROUND_API_TOKEN_CACHE_SECONDS", "10"))

# Webhooks: seconds to wait for an endpoint to connect and to answer; the first retry's delay
# in seconds (each next one doubles) and the hours after an event within which it is retried;
# days its deliveries are kept in the log. Private and loopback addresses are refused unless
# allowed (a site whose organisers' endpoints are on its own network; the tests).
RINGROUND_WEBHOOKS_TIMEOUT = float(os.environ.get("RINGROUND_WEBHOOKS_TIMEOUT", "5"))
RINGROUND_WEBHOOKS_RETRY_SECONDS = float(os.environ.get("RINGROUND_WEBHOOKS_RETRY_SECONDS", "30"))
RINGROUND_WEBHOOKS_RETRY_HOURS = float(os.environ.get("RINGROUND_WEBHOOKS_RETRY_HOURS", "24"))
RINGROUND_WEBHOOKS_KEEP_DAYS = int(os.environ.get("RINGROUND_WEBHOOKS_KEEP_DAYS", "30"))
RINGROUND_WEBHOOKS_ALLOW_PRIVATE = env_bool("RINGROUND_WEBHOOKS_ALLOW_PRIVATE")

# `ringround serve`: the WSGI server (granian or gunicorn), whether to start the background
# task worker beside it, and whether to log every request.
RINGROUND_SERVER = os.environ.get("RINGROUND_SERVER", "granian")
RINGROUND_TASK_WORKER = env_bool("RINGROUND_TASK_WORKER", True)
RINGROUND_ACCESS_LOG = os.environ.get("RINGROUND_ACCESS_LOG", "")

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ringround@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
# Hours an export's file is kept in the data folder before `apply_retention` deletes it.
RINGROUND_EXPORTS_KEEP_HOURS = int(os.environ.get("RINGROUND_EXPORTS_KEEP_HOURS", "24"))
