"""The OpenAPI document of the app: version 3.1 (its schemas are the core's JSON schemas,
draft 2020-12), and links that follow a ride from operation to operation.

A link tells a client (and a stateful API tester such as schemathesis)
where the answer's ids go next: the order that ``customer/create/``
answers is the ``order_id`` of every order endpoint, the offer that
``driver/current/`` shows is the one ``driver/accept/{order_id}/`` takes
(or a carrier's bid), and each step of the ride, or of a load, leads to
the next.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LINKS", "SCHEMA_SETTINGS", "add_links", "nullable_as_null_type"]

_ORDER_OPERATIONS = {
    "accept": "driver/accept/{order_id}/",
    "reject": "driver/reject/{order_id}/",
    "arrived": "driver/arrived/{order_id}/",
    "start": "driver/start/{order_id}/",
    "complete": "driver/complete/{order_id}/",
    "confirm_cash": "driver/confirm-cash/{order_id}/",
    "driver_rate": "driver/rate/{order_id}/",
    "search_again": "customer/search-again/{order_id}/",
    "cancel": "customer/cancel/{order_id}/",
    "track": "customer/track/{order_id}/",
    "rate": "customer/rate/{order_id}/",
    "pay": "customer/pay/{order_id}/",
    "detail": "{order_id}/",
    "post_load": "{order_id}/post/",
    "bids": "{order_id}/bids/",
    "bid": "{order_id}/bids/",
    "depart": "{order_id}/depart/",
    "proof": "{order_id}/proof-of-delivery/",
    "confirm_delivery": "{order_id}/confirm-delivery/",
    "dispute": "{order_id}/dispute/",
    "order_rate": "{order_id}/rate/",
    "pings": "tracking/orders/{order_id}/pings/",
    "route": "tracking/orders/{order_id}/route/",
}
_READS = frozenset({"track", "detail", "bids", "pings", "route"})
"""The operations that are a GET (the others a POST)."""
_CUSTOMER = ("search_again", "cancel", "track", "rate", "pay", "detail", "post_load", "bids",
             "pings", "route")  # fmt: skip
_DRIVER_NEXT = {
    "accept": ("arrived", "cancel", "detail"),
    "arrived": ("start", "cancel", "detail"),
    "start": ("complete", "depart", "detail"),
    "complete": ("confirm_cash", "driver_rate", "detail"),
    "depart": ("proof", "pings", "detail"),
    "proof": ("confirm_delivery", "dispute", "order_rate", "route"),
}

LINKS: dict[tuple[str, str], dict[str, str]] = {
    ("customer/create/", "post"): dict.fromkeys(_CUSTOMER, "$response.body#/id"),
    ("driver/current/", "get"): {
        "accept": "$response.body#/offer/order_id",
        "reject": "$response.body#/offer/order_id",
        "bid": "$response.body#/offer/order_id",
    },
    ("{order_id}/post/", "post"): dict.fromkeys(("bids", "cancel", "detail"), "$response.body#/id"),
    **{
        (_ORDER_OPERATIONS[step], "post"): dict.fromkeys(following, "$response.body#/id")
        for step, following in _DRIVER_NEXT.items()
    },
}
"""``(path under the mount, method)``: the operations its answer leads to, with where the
``order_id`` comes from in the answer."""


def _find(paths: dict[str, Any], tail: str, method: str) -> dict[str, Any] | None:
    for path, item in paths.items():
        if path.endswith("/" + tail) and not path.endswith("}/" + tail) and method in item:
            operation: dict[str, Any] = item[method]
            return operation
    return None


def add_links(result: dict[str, Any], generator: Any, request: Any, public: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the :data:`LINKS` in the success answers."""
    paths = result.get("paths", {})
    for (tail, method), targets in LINKS.items():
        source = _find(paths, tail, method)
        if source is None:
            continue
        answer = next(r for code, r in source["responses"].items() if code.startswith("2"))
        links = answer.setdefault("links", {})
        for name, expression in targets.items():
            target_path = _ORDER_OPERATIONS[name]
            method_of = "get" if name in _READS else "post"
            target = _find(paths, target_path, method_of)
            if target is None:
                continue
            links[name] = {
                "operationId": target["operationId"],
                "parameters": {"order_id": expression},
            }
    return result


def _walk(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("nullable") is True:
            del node["nullable"]
            kind = node.get("type")
            if isinstance(kind, str):
                node["type"] = [kind, "null"]
            elif "$ref" in node or "allOf" in node or "oneOf" in node:
                node["anyOf"] = [{k: node.pop(k) for k in list(node) if k != "description"}]
                node["anyOf"].append({"type": "null"})
        for value in node.values():
            _walk(value)
    elif isinstance(node, list):
        for value in node:
            _walk(value)


def nullable_as_null_type(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: OpenAPI 3.0's ``nullable`` (which paginators'
    hand-written schemas still use) as 3.1's ``null`` type, which validators read."""
    _walk(result.get("components", {}))
    _walk(result.get("paths", {}))
    return result


SCHEMA_SETTINGS: dict[str, Any] = {
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "vtc_dispatch_django.openapi.nullable_as_null_type",
        "vtc_dispatch_django.openapi.add_links",
    ],
}
"""What the app's schema view adds to the host's ``SPECTACULAR_SETTINGS``."""
