"""The Redis Channels layer for several server processes, safe with every redis-py version.

``channels_redis``' layer waits for a consumer's next message with a
blocking pop of ``brpop_timeout`` seconds (5) on the Redis server, then
asks again.  redis-py 8 reads every reply with a default ``socket_timeout``
of 5 s: the client gives up at the moment the server answers "nothing
yet", raises ``TimeoutError: Timeout reading from ...`` inside the
consumer, and the server closes every websocket idle for 5 s with 1011.
:class:`RedisChannelLayer` gives each host that does not set one a read
timeout longer than the blocking pop (so a Redis that stopped answering
is still noticed) and refuses one that is not::

    CHANNEL_LAYERS = {"default": {
        "BACKEND": "vtc_dispatch_django.layers.RedisChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:6379/0"]},
    }}

It needs the ``channels-redis`` package; its ``CONFIG`` is that layer's.

>>> layer = RedisChannelLayer(hosts=["redis://127.0.0.1:6379/0"])
>>> layer.hosts[0]["socket_timeout"] > layer.brpop_timeout
True
>>> RedisChannelLayer(hosts=[{"address": "redis://127.0.0.1:6379/0", "socket_timeout": 5}])
Traceback (most recent call last):
...
ValueError: socket_timeout of Redis host 0 must be longer than ... got 5
"""

from __future__ import annotations

from typing import Any

from channels_redis.core import RedisChannelLayer as _ChannelsRedisLayer

__all__ = ["READ_MARGIN_S", "RedisChannelLayer"]

READ_MARGIN_S = 5.0
"""How much longer than the blocking pop the client waits for a reply."""


class RedisChannelLayer(_ChannelsRedisLayer):
    """``channels_redis.core.RedisChannelLayer`` with a read timeout longer than its pop."""

    hosts: list[dict[str, Any]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        least = self.brpop_timeout
        hosts = [{"socket_timeout": least + READ_MARGIN_S, **host} for host in self.hosts]
        for index, host in enumerate(hosts):
            timeout = host["socket_timeout"]
            if timeout is not None and not timeout > least:
                raise ValueError(
                    f"socket_timeout of Redis host {index} must be longer than the layer's"
                    f" blocking pop ({least} s) or None, got {timeout!r}"
                )
        self.hosts = hosts
