"""``manage.py check`` warnings about a host's settings that break the app at run time.

``vtc_dispatch.W001``: a Channels layer of ``channels_redis`` with redis-py 8
or later and a host without ``socket_timeout``: every websocket idle for
5 s would be closed with 1011 (see :mod:`vtc_dispatch_django.layers`).

>>> layer = {"BACKEND": "channels_redis.core.RedisChannelLayer",
...          "CONFIG": {"hosts": ["redis://127.0.0.1:6379/0"]}}
>>> [w.id for w in channel_layer_warnings({"default": layer}, redis_major=8)]
['vtc_dispatch.W001']
>>> channel_layer_warnings({"default": layer}, redis_major=7)
[]
>>> fixed = {**layer, "BACKEND": "vtc_dispatch_django.layers.RedisChannelLayer"}
>>> channel_layer_warnings({"default": fixed}, redis_major=8)
[]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core import checks

__all__ = ["channel_layer_warnings", "check_channel_layers"]

# The pub/sub layer polls with a short timeout: only the list layer blocks for 5 s.
_PLAIN_LAYER = "channels_redis.core.RedisChannelLayer"


def channel_layer_warnings(layers: Mapping[str, Any], *, redis_major: int) -> list[checks.Warning]:
    """The W001 warnings of a ``CHANNEL_LAYERS`` setting under redis-py ``redis_major``."""
    if redis_major < 8:
        return []
    found = []
    for alias, layer in layers.items():
        hosts = (layer.get("CONFIG") or {}).get("hosts") or [None]
        timed = all(isinstance(h, Mapping) and "socket_timeout" in h for h in hosts)
        if layer.get("BACKEND") == _PLAIN_LAYER and not timed:
            found.append(
                checks.Warning(
                    f"CHANNEL_LAYERS[{alias!r}] reads Redis with redis-py's default timeout of"
                    " 5 s: every websocket idle for 5 s will be closed with 1011",
                    hint="use the BACKEND vtc_dispatch_django.layers.RedisChannelLayer, or give"
                    " each host a socket_timeout longer than 5 s",
                    id="vtc_dispatch.W001",
                )
            )
    return found


def check_channel_layers(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The W001 warnings of the project's settings (registered by the app's ``ready``)."""
    from django.conf import settings

    layers = getattr(settings, "CHANNEL_LAYERS", {})
    if not any(layer.get("BACKEND") == _PLAIN_LAYER for layer in layers.values()):
        return []
    import redis

    return list(channel_layer_warnings(layers, redis_major=int(redis.__version__.split(".")[0])))
