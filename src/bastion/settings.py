"""Django settings, read from the environment described in DESIGN.md.

Every knob an operator may turn is a ``BASTION_*`` variable; everything else is fixed here so
that a fresh checkout runs on SQLite and local files with no configuration at all.
"""

import ipaddress
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from bastion import datadir

BASE_DIR = Path(__file__).resolve().parent

DATA_DIR = Path(os.environ.get("BASTION_DATA_DIR", "./.bastion")).resolve()
# Everything written from here on is the server account's alone (umask 077), except the two trees
# a static server reads; an existing data directory is tightened. See bastion.datadir.
datadir.make_private(DATA_DIR)

BASE_URL = os.environ.get("BASTION_BASE_URL", "http://localhost:8000").rstrip("/")
_base = urlsplit(BASE_URL)
BASE_URL_IS_HTTPS = _base.scheme == "https"


def _load_or_create_secret_key() -> str:
    """Generate the key once, so a fresh data directory needs no set-up yet keeps sessions."""
    configured = os.environ.get("BASTION_SECRET_KEY")
    if configured:
        return configured
    path = DATA_DIR / "secret_key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker won the race; read what it wrote
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _load_or_create_secret_key()

DEBUG = os.environ.get("BASTION_DEBUG", "") == "1"
ALLOWED_HOSTS = ["*"]
CSRF_TRUSTED_ORIGINS = [f"{_base.scheme}://{_base.netloc}"]

INSTALLED_APPS = [
    "bastion.web.apps.AdminConfig",  # Django's admin behind the site's sign-in (web/admin_site)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "bastion.accounts",
    "bastion.events",
    "bastion.packaging",
    "bastion.tokens",
    "bastion.upload",
    "bastion.simple",
    "bastion.downloads",
    "bastion.web",
    "bastion.mfa",
    "bastion.critical",
    "bastion.keys",
    "bastion.jobs",
    "bastion.publishing",
    "bastion.upstream",
]

MIDDLEWARE = [
    "bastion.operations.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "bastion.web.read_access.ReadAccessMiddleware",  # BASTION_READ_ACCESS=authenticated
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "bastion.web.middleware.SecurityHeadersMiddleware",
    "bastion.web.middleware.RefuseNulMiddleware",  # inner: its refusals get the headers
    "bastion.web.middleware.MethodNotAllowedPageMiddleware",
    "bastion.web.gate.RefusalMiddleware",  # the gate's refusals no view caught: the 403 page
]

ROOT_URLCONF = "bastion.urls"
CSRF_FAILURE_VIEW = "bastion.web.gate.csrf_failure"  # the site's 403 page, not Django's bare one
WSGI_APPLICATION = "bastion.wsgi.application"
APPEND_SLASH = False  # the index decides its own redirects; uploads must never be redirected

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bastion.critical.context_processors.mandate_banner",
                "bastion.accounts.context_processors.registration",
            ],
        },
    },
]


def _database() -> dict:
    url = os.environ.get("BASTION_DATABASE_URL")
    if url:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        config.setdefault("TEST", {})
        if config["ENGINE"] == "django.db.backends.postgresql":
            # An unreachable server fails a request (and `bastion check`) in seconds, not after
            # the operating system's two-minute connect timeout.
            config.setdefault("OPTIONS", {}).setdefault("connect_timeout", 10)
        return dict(config)
    return {
        "ENGINE": "bastion.sqlite",
        "NAME": DATA_DIR / "bastion.sqlite3",
        # Each thread keeps its connection. Opening one per request cost every request that
        # reaches Django (an upload, a page) a few milliseconds: the schema read again, the page
        # cache cold, and, when the last connection closes, a WAL checkpoint with its fsync.
        "CONN_MAX_AGE": None,
        "OPTIONS": {
            # WAL lets readers proceed while a writer commits; IMMEDIATE makes writers queue
            # for the lock up front instead of failing half-way through a transaction.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"


def _trusted_proxies() -> tuple:
    """Proxies whose X-Forwarded-For is believed (bastion.client_address): none by default."""
    value = os.environ.get("BASTION_TRUSTED_PROXIES", "")
    try:
        return tuple(
            ipaddress.ip_network(item.strip(), strict=False)
            for item in value.split(",")
            if item.strip()
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"BASTION_TRUSTED_PROXIES: {exc}") from exc


TRUSTED_PROXIES = _trusted_proxies()


def _metrics_access() -> str | tuple:
    """``/metrics``: "off" (404), "on" (anyone), or the networks allowed to scrape it."""
    value = os.environ.get("BASTION_METRICS", "off").strip().lower()
    if value in ("off", "on"):
        return value
    try:
        return tuple(
            ipaddress.ip_network(item.strip(), strict=False)
            for item in value.split(",")
            if item.strip()
        )
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"BASTION_METRICS must be off, on, or addresses and CIDR ranges: {exc}"
        ) from exc


METRICS = _metrics_access()


REDIS_URL = os.environ.get("BASTION_REDIS_URL")
# Rate limits counted inside a database transaction (a project's creation) count in the database
# even with Redis, so that a creation rolled back (a lost race) is not counted; `bastion migrate`
# creates the table (bastion.accounts.cache explains the store).
_RATELIMIT_TABLE = {
    "BACKEND": "bastion.accounts.cache.RateLimitCache",
    "LOCATION": "bastion_ratelimit",
}
if REDIS_URL:
    _redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    CACHES: dict[str, dict[str, Any]] = {
        "default": _redis,
        "ratelimit": _redis,
        "ratelimit-transactional": _RATELIMIT_TABLE,
    }
else:
    # The general cache stays in-process for speed; rate limits must be shared by every worker.
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "ratelimit": _RATELIMIT_TABLE,
        "ratelimit-transactional": _RATELIMIT_TABLE,
    }

_LIMIT = re.compile(r"\s*([0-9]+)\s*/\s*([0-9]*)\s*(second|minute|hour|day)s?\s*")
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _rate_limit(variable: str, default: str) -> tuple[tuple[int, int], ...]:
    """``20/minute``, ``40/hour,200/day`` or ``5/10minutes``: (count, seconds) per window."""
    value = os.environ.get(variable, default)
    windows = []
    for part in value.split(","):
        match = _LIMIT.fullmatch(part)
        if match is None or int(match[1]) < 1 or match[2] == "0":
            raise ImproperlyConfigured(
                f"{variable}={value!r}: expected COUNT/UNIT, e.g. 20/minute or 40/hour,200/day"
            )
        windows.append((int(match[1]), int(match[2] or 1) * _UNIT_SECONDS[match[3]]))
    return tuple(windows)


# Limits beyond the sign-in forms (bastion.accounts.ratelimit); the sign-in ones are fixed there.
RATELIMIT_TOKEN_FAILURES_PER_IP = _rate_limit(
    "BASTION_RATELIMIT_TOKEN_FAILURES_PER_IP", "20/minute"
)
RATELIMIT_PROJECTS_PER_USER = _rate_limit("BASTION_RATELIMIT_PROJECTS_PER_USER", "20/hour")
RATELIMIT_PROJECTS_PER_IP = _rate_limit("BASTION_RATELIMIT_PROJECTS_PER_IP", "40/hour")
RATELIMIT_UPLOADS_PER_USER = _rate_limit("BASTION_RATELIMIT_UPLOADS_PER_USER", "300/minute")

# Who may read the index (bastion.web.read_access): "public", or "authenticated" for a private
# index, where every page and file needs a signed-in session or an API token (HTTP Basic auth).
READ_ACCESS_CHOICES = ("public", "authenticated")
READ_ACCESS = os.environ.get("BASTION_READ_ACCESS", "public").strip().lower()
if READ_ACCESS not in READ_ACCESS_CHOICES:
    raise ImproperlyConfigured(
        f"BASTION_READ_ACCESS must be one of {', '.join(READ_ACCESS_CHOICES)}, not {READ_ACCESS!r}"
    )
# Who may create an account (bastion.accounts.invitations): "open" (anyone, on the register
# page), "invite" (an administrator's invitation by email) or "closed" (the admin or
# `bastion users create`).
REGISTRATION_CHOICES = ("open", "invite", "closed")
REGISTRATION = os.environ.get("BASTION_REGISTRATION", "open").strip().lower()
if REGISTRATION not in REGISTRATION_CHOICES:
    raise ImproperlyConfigured(
        f"BASTION_REGISTRATION must be one of {', '.join(REGISTRATION_CHOICES)}, "
        f"not {REGISTRATION!r}"
    )
# How long each server process trusts its last check of a token on a read (bastion.tokens.reads):
# a revoked token keeps reading for at most this long.
READ_TOKEN_CACHE_SECONDS = float(os.environ.get("BASTION_READ_TOKEN_CACHE_SECONDS", "5"))

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "bastion.accounts.passwords.EmailSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "bastion.accounts.passwords.BreachedPasswordValidator"},
]
# Breached-password checks (bastion.accounts.passwords): off unless one of these is configured.
HIBP_URL = os.environ.get("BASTION_HIBP_URL") or None
HIBP_RANGE_FILE = os.environ.get("BASTION_HIBP_RANGE_FILE") or None
HIBP_TIMEOUT = 2.0
# Registration lookups for the expired-email-domain check (bastion.accounts.domains); unset = off.
RDAP_URL = os.environ.get("BASTION_RDAP_URL") or None
RDAP_TIMEOUT = 10.0

# Trusted publishing (bastion.publishing): which OIDC issuers' tokens are traded for upload tokens,
# and the audience those tokens must name. Keys come from each issuer's discovery document unless
# ``jwks_url`` points elsewhere (a mirror for air-gapped installations, or a test issuer).
OIDC_ISSUERS_DEFAULT = {
    "https://token.actions.githubusercontent.com": {"kind": "github"},
    "https://gitlab.com": {"kind": "gitlab"},
}


def _oidc_issuers() -> dict[str, dict]:
    raw = os.environ.get("BASTION_OIDC_ISSUERS", "").strip()
    if not raw:
        return OIDC_ISSUERS_DEFAULT
    try:
        issuers = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"BASTION_OIDC_ISSUERS is not JSON: {exc}") from exc
    if not isinstance(issuers, dict) or not all(
        isinstance(url, str) and isinstance(entry, dict) and isinstance(entry.get("kind"), str)
        for url, entry in issuers.items()
    ):
        raise ImproperlyConfigured(
            'BASTION_OIDC_ISSUERS: expected {"ISSUER URL": {"kind": "github"|"gitlab", '
            '"jwks_url": "…" (optional)}, …}'
        )
    return {url.rstrip("/"): entry for url, entry in issuers.items()}


OIDC_ISSUERS = _oidc_issuers()
OIDC_AUDIENCE = os.environ.get("BASTION_OIDC_AUDIENCE") or _base.hostname or "localhost"

LOGIN_URL = "/account/login/"
PASSWORD_RESET_TIMEOUT = 6 * 3600  # a reset link is good for six hours

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from here and from the apps' static dirs
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_SECURE = BASE_URL_IS_HTTPS
CSRF_COOKIE_SECURE = BASE_URL_IS_HTTPS
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"


def _smtp(url: str) -> dict:
    """SMTP settings from ``smtp://`` (STARTTLS), ``smtps://`` (TLS) or ``smtp+plain://`` (none).

    ``smtp+plain`` is for a relay on the same machine; credentials never cross a network in clear.
    """
    from urllib.parse import unquote

    parts = urlsplit(url)
    schemes = {
        "smtp": (587, True, False),
        "smtps": (465, False, True),
        "smtp+plain": (25, False, False),
    }
    if parts.scheme not in schemes:
        raise ValueError(f"BASTION_SMTP_URL must start with one of {sorted(schemes)}")
    default_port, starttls, implicit_tls = schemes[parts.scheme]
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": parts.port or default_port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": starttls,
        "EMAIL_USE_SSL": implicit_tls,
        "EMAIL_TIMEOUT": 20,
    }


# Mail goes to files in the outbox unless an SMTP server is configured.
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = DATA_DIR / "outbox"
if os.environ.get("BASTION_SMTP_URL"):
    globals().update(_smtp(os.environ["BASTION_SMTP_URL"]))
DEFAULT_FROM_EMAIL = os.environ.get("BASTION_MAIL_FROM") or f"Bastion <noreply@{_base.hostname}>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Where distribution files live, addressed by content hash (bastion.packaging.storage; files
# fetched from the upstream index under ``upstream/<sha256>/<filename>``): unset or
# file:// for the data directory, file:///DIR for another directory, s3://BUCKET[/PREFIX] for an
# S3-compatible store configured by the standard AWS_* variables.
STORAGE_URL = os.environ.get("BASTION_STORAGE_URL", "").strip()
_storage = urlsplit(STORAGE_URL)
if STORAGE_URL and _storage.scheme not in ("file", "s3"):
    raise ImproperlyConfigured("BASTION_STORAGE_URL must start with file:// or s3://")
if _storage.scheme == "s3" and not _storage.netloc:
    raise ImproperlyConfigured("BASTION_STORAGE_URL must name the bucket: s3://BUCKET[/PREFIX]")
_files_root = Path(_storage.path) if _storage.scheme == "file" and _storage.path else DATA_DIR
FILES_DIR = _files_root / "files"
# Files of quarantined projects, moved out of FILES_DIR so no URL serves them (PEP 792).
WITHHELD_DIR = _files_root / "withheld"
# With object storage, /files/<key> redirects here + key (a CDN in front of the bucket's files/
# prefix) instead of to a presigned URL.
FILES_URL = os.environ.get("BASTION_FILES_URL", "").strip()
# Pre-rendered simple pages: the read path serves these and never touches the database.
PAGES_DIR = DATA_DIR / "pages"
# With object storage there are several servers, each with its own page tree: a page is then
# served only while its serial is the database's (read at most every PAGES_SERIAL_SECONDS), so a
# change made through one server is on every server's pages within a second.
PAGES_FOLLOW_SERIAL = _storage.scheme == "s3"
PAGES_SERIAL_SECONDS = 0.5


def _switch(name: str) -> bool:
    """A 0/1 setting (read as ``bastion.critical.policy`` reads its flags); anything else is a
    mistake to refuse at start-up, not to read as off."""
    raw = os.environ.get(name, "0").strip().lower()
    if raw not in {"1", "true", "yes", "on", "0", "false", "no", "off", ""}:
        raise ImproperlyConfigured(f"{name} must be 1 or 0, not {raw!r}")
    return raw in {"1", "true", "yes", "on"}


# The admin opens only for staff with a second factor; with this, only with a security key or a
# passkey (phishing-resistant), an authenticator app alone is not enough.
ADMIN_REQUIRE_WEBAUTHN = _switch("BASTION_ADMIN_REQUIRE_WEBAUTHN")

# After an admin resets a lost account's factors, it may not publish for this long (see mfa).
RECOVERY_COOLING_OFF_HOURS = int(os.environ.get("BASTION_RECOVERY_COOLING_OFF_HOURS", "72"))

MAX_UPLOAD_BYTES = int(os.environ.get("BASTION_MAX_UPLOAD_BYTES", str(100 * 1024 * 1024)))
# Django must let a whole distribution through to the upload view; the view applies the limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES + 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Uploads in flight live in the data directory, not in /tmp, so that `bastion storage gc` can find
# what a killed server left there: Django's spooled request bodies (tmp/) and checked bytes waiting
# for their rows to commit (staged/). Nothing in it is served.
UPLOADS_DIR = DATA_DIR / "uploads"
FILE_UPLOAD_TEMP_DIR = UPLOADS_DIR / "tmp"
UPLOAD_STAGING_DIR = UPLOADS_DIR / "staged"
for _directory in (UPLOADS_DIR, FILE_UPLOAD_TEMP_DIR, UPLOAD_STAGING_DIR):
    _directory.mkdir(mode=0o700, exist_ok=True)
# A request body must keep arriving (bastion.web.request_bodies): after this grace period, at
# least this many bytes a second on average, or the request is refused and its thread freed.
REQUEST_BODY_GRACE_SECONDS = float(os.environ.get("BASTION_REQUEST_BODY_GRACE_SECONDS", "20"))
REQUEST_BODY_MIN_RATE = float(os.environ.get("BASTION_REQUEST_BODY_MIN_RATE", "10000"))
# Uploads whose bodies may be arriving at once (bastion.upload.admission), so that slow uploads
# never hold every worker thread: server-wide (0: half the server's threads) and per address.
UPLOADS_IN_FLIGHT = int(os.environ.get("BASTION_UPLOADS_IN_FLIGHT", "0"))
UPLOADS_IN_FLIGHT_PER_ADDRESS = int(os.environ.get("BASTION_UPLOADS_IN_FLIGHT_PER_ADDRESS", "2"))
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# Download counting: served files are buffered in memory and flushed in batches this often. A crash
# loses at most one interval, and so can a stop under load: uWSGI skips Python's exit handlers in
# a worker that is still busy, so the interval is kept short.
DOWNLOADS_COUNTING = os.environ.get("BASTION_DOWNLOADS_COUNTING", "1") != "0"
DOWNLOADS_FLUSH_SECONDS = float(os.environ.get("BASTION_DOWNLOADS_FLUSH_SECONDS", "2"))

# `bastion serve` logs every request on standard output unless this is 0 (or --no-access-log).
ACCESS_LOG = os.environ.get("BASTION_ACCESS_LOG", "1") != "0"
# Each web process keeps its threads on one CPU (bastion.server.pin_worker_threads).
PIN_WORKERS = os.environ.get("BASTION_PIN_WORKERS", "1") != "0"

# Who runs the schedule (download rollups, the daily designation, reminders) and, with the
# database task backend, the queued tasks: "builtin" starts `bastion worker` beside the web
# processes of `bastion serve`; "external" means an operator runs `bastion worker` themselves.
WORKERS = ("builtin", "external")
WORKER = os.environ.get("BASTION_WORKER", "builtin")
if WORKER not in WORKERS:
    raise ImproperlyConfigured(
        f"BASTION_WORKER must be one of {', '.join(WORKERS)}, not '{WORKER}'"
    )
# How often the worker folds recorded downloads into the daily counts that pages show.
DOWNLOADS_ROLLUP_SECONDS = float(os.environ.get("BASTION_DOWNLOADS_ROLLUP_SECONDS", "30"))

# The upstream index (bastion.upstream): every name not hosted here falls through to it, served
# from Bastion's own URLs and cache. Unset means no upstream.
_upstream = (os.environ.get("BASTION_UPSTREAM_URL") or "").strip().rstrip("/")
UPSTREAM_URL = f"{_upstream}/" if _upstream else None
# How long a fetched project page is served before it is revalidated with the upstream (ETag).
UPSTREAM_PAGE_TTL = float(os.environ.get("BASTION_UPSTREAM_PAGE_TTL", "600"))
# Bounded waits, so a dead upstream gives a clear 502 (or the cached page), never a hang.
UPSTREAM_CONNECT_TIMEOUT = float(os.environ.get("BASTION_UPSTREAM_CONNECT_TIMEOUT", "5"))
UPSTREAM_READ_TIMEOUT = float(os.environ.get("BASTION_UPSTREAM_READ_TIMEOUT", "30"))
# The most bytes of upstream files to keep; beyond it the least recently used go (0: no cap).
UPSTREAM_CACHE_BYTES = int(os.environ.get("BASTION_UPSTREAM_CACHE_BYTES", "0"))
# Comma-separated name patterns (fnmatch, e.g. ``acme-*``) that never come from the upstream.
UPSTREAM_EXCLUDE = [
    pattern.strip()
    for pattern in os.environ.get("BASTION_UPSTREAM_EXCLUDE", "").split(",")
    if pattern.strip()
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("BASTION_LOG_LEVEL", "WARNING")},
    # A refused request is already a line of the access log; only server errors are worth more.
    # sigstore warns on every offline verification (an attestation upload) that it will not
    # refresh its trust root: offline is Bastion's choice (bastion.publishing.attestations).
    "loggers": {"django.request": {"level": "ERROR"}, "sigstore._internal.tuf": {"level": "ERROR"}},
}

# Background work (django-tasks). "immediate" runs each task as it is enqueued, so the quick start
# needs no worker; "database" queues tasks in the database for `bastion worker` to run.
TASK_BACKENDS = {
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
    "database": "django_tasks_db.DatabaseBackend",
}
_task_backend = os.environ.get("BASTION_TASK_BACKEND", "immediate")
if _task_backend not in TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"BASTION_TASK_BACKEND must be one of {', '.join(TASK_BACKENDS)}, not '{_task_backend}'"
    )
TASKS = {"default": {"BACKEND": TASK_BACKENDS[_task_backend]}}
