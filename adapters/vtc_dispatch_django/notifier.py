"""Wire messages through the Channels layer: one group per driver, customer and order.

A consumer joins the group of its user (:func:`group_name`); the service's
messages go to the recipient's group, whichever process or connection the
user is on.  With ``InMemoryChannelLayer`` only consumers of the same
process receive them: fine for one server process, not for several (use
``channels_redis`` there).

>>> group_name("driver", "42")
'vtc.driver.42'
>>> group_name("customer", "chantal@example.com")
'vtc.customer.h-ccd827461867ff879bf06318e11f55524cf5c987'
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from pydantic import BaseModel

from vtc_dispatch.errors import TransportUnavailable
from vtc_dispatch.wire import Recipient

__all__ = ["MESSAGE_TYPE", "ChannelsNotifier", "channel_layer", "group_name"]

MESSAGE_TYPE = "vtc.message"
"""The Channels event type consumers handle (method ``vtc_message``)."""

_PLAIN = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")


def group_name(role: str, party_id: str) -> str:
    """The Channels group of a driver, a customer or an order's watchers.

    Ids with characters a group name may not hold (or too long) are hashed.
    """
    if _PLAIN.match(party_id):
        return f"vtc.{role}.{party_id}"
    return f"vtc.{role}.h-{hashlib.sha1(party_id.encode()).hexdigest()}"


def channel_layer(alias: str = "default") -> Any:
    """The Channels layer ``alias``; TransportUnavailable when none is configured."""
    layer = get_channel_layer(alias)
    if layer is None:
        raise TransportUnavailable(
            "no Channels layer is configured: set CHANNEL_LAYERS in the settings"
        )
    return layer


class ChannelsNotifier:
    """Sends each message as JSON text to the recipient's group."""

    def __init__(self, layer: Any = None, *, alias: str = "default") -> None:
        self._layer = layer
        self._alias = alias

    def _get_layer(self) -> Any:
        if self._layer is None:
            self._layer = channel_layer(self._alias)
        return self._layer

    def send(self, recipient: Recipient, message: BaseModel) -> None:
        """Deliver ``message`` to whoever listens to the recipient's group."""
        event = {"type": MESSAGE_TYPE, "text": message.model_dump_json()}
        try:
            async_to_sync(self._get_layer().group_send)(
                group_name(recipient.role, recipient.id), event
            )
        except TransportUnavailable:
            raise
        except Exception as exc:  # a layer raises its backend's own errors
            raise TransportUnavailable(
                f"could not send {type(message).__name__} to {recipient.role} {recipient.id!r}:"
                f" {exc}"
            ) from exc
