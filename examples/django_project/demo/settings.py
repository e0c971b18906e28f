"""Settings of the example project, from environment variables.

Default: SQLite (``db.sqlite3`` here) and the in-memory Channels layer, one
server process.  ``DATABASE_URL=postgresql://user@host:5432/name`` uses
PostgreSQL; ``REDIS_URL=redis://host:6379/0`` uses the Redis Channels layer
(package ``channels-redis`` through ``vtc_dispatch_django.layers``, keys
prefixed with ``CHANNELS_PREFIX``) and,
with ``VTC_STORES=redis``, the Redis adapter for the dispatch state but
the wallets (``vtc_dispatch_redis``, when installed; see ``demo/stores.py``).
``VTC_THROTTLE=0`` turns the API's throttles off (load tests, API fuzzers).
``VTC_CLOCK_FILE=/path`` puts the service's clock that many seconds ahead of
the wall clock as the file says (end-to-end tests, ``demo/clock.py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from vtc_dispatch_django.defaults import REST_FRAMEWORK, SPECTACULAR_SETTINGS, THROTTLE_RATES

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "Africa/Douala"

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "vtc_dispatch_django",
    "demo",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # daphne serves no static files (only runserver does, with DEBUG): WhiteNoise
    # serves them from the ASGI app itself, so the admin is styled under the
    # README's `daphne demo.asgi:application`.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "demo.urls"
ASGI_APPLICATION = "demo.asgi.application"
STATIC_URL = "static/"
# WhiteNoise finds the files in the apps, so the README's commands need no
# collect step; a production host sets STATIC_ROOT and runs collectstatic.
WHITENOISE_USE_FINDERS = True
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def database(url: str | None) -> dict[str, Any]:
    """A DATABASES entry from ``DATABASE_URL`` (PostgreSQL), else SQLite beside manage.py."""
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        }
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got {url!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
    }


DATABASES = {"default": database(os.environ.get("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL")
CHANNEL_LAYERS: dict[str, Any] = (
    {
        "default": {
            "BACKEND": "vtc_dispatch_django.layers.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": os.environ.get("CHANNELS_PREFIX", "asgi")},
        }
    }
    if REDIS_URL
    else {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
)

# Mobile money through the in-package fake provider (no operator's API is reachable
# from a demo): its callbacks are signed with this secret (HMAC-SHA256 of the body).
VTC_DISPATCH: dict[str, Any] = {
    "PAYMENT_PROVIDERS": "vtc_dispatch_django.payments.fake_providers",
    "FAKE_PAYMENT_SECRET": os.environ.get("VTC_FAKE_PAYMENT_SECRET", "demo-payment-secret"),
}
if os.environ.get("VTC_STORES") == "redis":
    VTC_DISPATCH["STORES"] = "demo.stores.redis_stores"
# End-to-end tests move the server's time forward instead of sleeping (demo/clock.py).
if os.environ.get("VTC_CLOCK_FILE"):
    VTC_DISPATCH["CLOCK"] = "demo.clock.FileClock"
# One server process: the offers' deadlines run in the server (demo.asgi);
# with several processes set VTC_IN_PROCESS_WORKER=0 and run
# `manage.py dispatch_worker` beside them.
IN_PROCESS_WORKER = os.environ.get("VTC_IN_PROCESS_WORKER", "1") == "1"

REST_FRAMEWORK = {**REST_FRAMEWORK}
if os.environ.get("VTC_THROTTLE") == "0":
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(THROTTLE_RATES)
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS}
