"""A Celery task for hosts that run Celery beat: ``expire_due`` every few seconds.

Celery is not a dependency of vtc-dispatch: this module imports it, so
import it only where Celery is installed.  Schedule it in beat, e.g.::

    app.conf.beat_schedule = {"vtc-expire-due": {
        "task": "vtc_dispatch_django.expire_due", "schedule": 2.0}}

Offers' deadlines are then met within the schedule's period; the
``dispatch_worker`` command meets them to the second without Celery.
"""

from __future__ import annotations

from celery import shared_task

from vtc_dispatch_django.runtime import get_service

__all__ = ["expire_due"]


@shared_task(name="vtc_dispatch_django.expire_due", ignore_result=True)
def expire_due() -> int:
    """Handle every offer deadline that is due; how many were handled."""
    return get_service().expire_due()
