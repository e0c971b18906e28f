"""The ASGI application: HTTP through Django, websockets through the dispatch consumers.

Start it with ``daphne demo.asgi:application`` (or uvicorn) from
examples/django_project.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from vtc_dispatch_django.asgi import WithDeadlines  # noqa: E402
from vtc_dispatch_django.routing import websocket_application  # noqa: E402

application: Any = ProtocolTypeRouter(
    {"http": django_application, "websocket": websocket_application()}
)
if settings.IN_PROCESS_WORKER:
    application = WithDeadlines(application)
