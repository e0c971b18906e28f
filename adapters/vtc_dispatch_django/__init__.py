"""vtc-dispatch for Django: one app to add to ``INSTALLED_APPS``.

Brings the dispatch state into the database (orders, ride progress, driver
presence, drivers' offer statistics, customers' rating totals, wallets)
through ORM implementations of the core's ports
(:mod:`vtc_dispatch_django.repositories`; ``VTC_DISPATCH["STORES"]``
puts any of them elsewhere, see :mod:`vtc_dispatch_django.runtime`), the
pricing and dispatch configuration into the admin, REST endpoints
(:mod:`vtc_dispatch_django.urls`,
mounted under ``/api/v1/order/``), Channels consumers for drivers and
customers speaking the wire messages (:mod:`vtc_dispatch_django.routing`),
and the ``dispatch_worker`` command that runs the offers' deadlines.

Install with ``pip install 'vtc-dispatch[django]'``; the example project
in ``examples/django_project`` shows the whole wiring.
"""
