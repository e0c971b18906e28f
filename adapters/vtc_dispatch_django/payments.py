"""Mobile-money providers of the app: ``VTC_DISPATCH["PAYMENT_PROVIDERS"]``.

A dict from payment method (``OM``, ``MOMO``, ``WAVE``, ``FREE_MONEY``,
``MPESA``, ``AIRTEL_MONEY``) to the dotted path of a callable returning its
:class:`~vtc_dispatch.ports.PaymentProvider`; or the dotted path of one
callable returning the whole dict.  Each provider gets its webhook
``payments/callback/<slug>/`` under the app's mount (:data:`SLUGS`), where
the operator's callbacks are posted.  Without the setting no method is
collected by the app (``customer/pay/{id}/`` answers 402).

:func:`fake_providers` gives a :class:`~vtc_dispatch.payments.FakeProvider`
for every method, signed with ``VTC_DISPATCH["FAKE_PAYMENT_SECRET"]``: the
example project and the tests use it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.utils.module_loading import import_string

from vtc_dispatch.errors import PaymentRefused, shown
from vtc_dispatch.payments import MOBILE_MONEY, FakeProvider
from vtc_dispatch.ports import PaymentProvider
from vtc_dispatch_django.runtime import BackendUnavailable, dispatch_setting

__all__ = ["SIGNATURE_HEADER", "SLUGS", "fake_providers", "provider", "providers", "reset"]

SLUGS: dict[str, str] = {
    "OM": "orange-money",
    "MOMO": "mtn-momo",
    "WAVE": "wave",
    "FREE_MONEY": "free-money",
    "MPESA": "m-pesa",
    "AIRTEL_MONEY": "airtel-money",
}
"""The webhook path of each mobile-money method's provider."""
assert tuple(SLUGS) == MOBILE_MONEY

SIGNATURE_HEADER = "X-Signature"
"""The header whose value a provider's :meth:`read_callback` checks (the fake's HMAC)."""


def fake_providers() -> dict[str, PaymentProvider]:
    """A :class:`~vtc_dispatch.payments.FakeProvider` for every mobile-money method."""
    secret = dispatch_setting("FAKE_PAYMENT_SECRET", "fake-secret")
    return {method: FakeProvider(method, secret=secret) for method in MOBILE_MONEY}


@cache
def providers() -> dict[str, PaymentProvider]:
    """The configured providers by method (built once per process; :func:`reset`)."""
    setting: Any = dispatch_setting("PAYMENT_PROVIDERS", {})
    try:
        if isinstance(setting, str):
            built: dict[str, PaymentProvider] = dict(import_string(setting)())
        else:
            built = {method: import_string(path)() for method, path in setting.items()}
    except ImportError as exc:
        raise BackendUnavailable(
            f"VTC_DISPATCH['PAYMENT_PROVIDERS'] cannot be imported: {exc}"
        ) from exc
    unknown = set(built) - set(MOBILE_MONEY)
    if unknown:
        raise BackendUnavailable(
            f"VTC_DISPATCH['PAYMENT_PROVIDERS'] names {sorted(unknown)}:"
            f" the mobile-money methods are {list(MOBILE_MONEY)}"
        )
    return built


def reset() -> None:
    """Forget the built providers (the settings changed)."""
    providers.cache_clear()


def provider(method: str) -> PaymentProvider:
    """The provider of ``method``; :class:`~vtc_dispatch.errors.PaymentRefused` without one."""
    found = providers().get(method)
    if found is None:
        raise PaymentRefused(f"no mobile-money provider collects {shown(method)} here")
    return found
