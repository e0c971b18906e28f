"""Django for the tests: settings (PostgreSQL when it answers or is required), the test urls.

PostgreSQL is ``VTC_POSTGRES_DSN`` (default ``postgresql://postgres@127.0.0.1:5432/test``);
the tests create and drop their own database ``test_vtc_django_<checkout>`` there.  When
``VTC_REQUIRE_SERVICES=1`` PostgreSQL is used even if it does not answer, so
the Django tests fail rather than fall back; otherwise, with no PostgreSQL,
they run on SQLite.  Core tests never touch Django: configuring it only
sets settings.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

POSTGRES_DSN_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
# One test database per checkout: two checkouts tested at once on one
# PostgreSQL (work trees, a CI clone beside a developer's) never drop each other's.
CHECKOUT = hashlib.sha1(str(Path(__file__).resolve().parents[2]).encode()).hexdigest()[:8]
TEST_DATABASE = f"test_vtc_django_{CHECKOUT}"


def postgres_dsn() -> str:
    """The PostgreSQL of the tests."""
    return os.environ.get("VTC_POSTGRES_DSN") or POSTGRES_DSN_DEFAULT


def services_required() -> bool:
    """Whether tests needing PostgreSQL must fail (not skip or fall back) without it."""
    return os.environ.get("VTC_REQUIRE_SERVICES") == "1"


def postgres_answers(dsn: str) -> bool:
    """Whether PostgreSQL at ``dsn`` accepts a connection within 2 s."""
    try:
        import psycopg
    except ImportError:
        return False
    try:
        psycopg.connect(dsn, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


def postgres_settings(dsn: str, test_name: str) -> dict[str, Any]:
    """A Django DATABASES entry for ``dsn``, its test database named ``test_name``."""
    parts = urlsplit(dsn)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/") or "postgres",
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
        "TEST": {"NAME": test_name},
    }


def database() -> dict[str, Any]:
    """PostgreSQL when it answers or is required, else SQLite in memory."""
    dsn = postgres_dsn()
    if services_required() or postgres_answers(dsn):
        return postgres_settings(dsn, os.environ.get("VTC_DJANGO_TEST_DB") or TEST_DATABASE)
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}


def configure() -> bool:
    """Configure Django for the tests when it is installed; tell whether it is."""
    try:
        from django.conf import settings
    except ImportError:
        return False
    if settings.configured:
        return True
    from vtc_dispatch_django.defaults import REST_FRAMEWORK

    settings.configure(
        DEBUG=False,
        SECRET_KEY="tests-only",
        USE_TZ=True,
        TIME_ZONE="UTC",
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "rest_framework",
            "rest_framework.authtoken",
            "drf_spectacular",
            "drf_spectacular_sidecar",
            "channels",
            "vtc_dispatch_django",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
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
        ],
        DATABASES={"default": database()},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
        ROOT_URLCONF="django_urls",
        STATIC_URL="static/",
        REST_FRAMEWORK={
            **REST_FRAMEWORK,
            # The rides replay their GPS fixes under a manual clock, faster than
            # a phone sends them; the throttling tests set the rates they test.
            "DEFAULT_THROTTLE_RATES": {
                **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                "vtc_location": None,
            },
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        VTC_DISPATCH={
            "CONFIG_CHECK_S": 0.0,
            "PAYMENT_PROVIDERS": "vtc_dispatch_django.payments.fake_providers",
        },
    )
    return True
