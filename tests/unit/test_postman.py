"""The Postman collection's requests: what Postman and newman send is what ``raw`` says.

Postman and newman build a request's URL from ``url.host``, ``url.path``
and ``url.query``, not from ``raw``: a path array without its final empty
element sent every request without its trailing slash (a 500 on every
POST under ``APPEND_SLASH``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

POSTMAN = Path(__file__).resolve().parents[2] / "examples" / "django_project" / "postman"
COLLECTION = json.loads((POSTMAN / "vtc-dispatch.postman_collection.json").read_text())


def _requests(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        if "item" in item:
            yield from _requests(item["item"])
        else:
            yield item


REQUESTS = list(_requests(COLLECTION["item"]))


@pytest.mark.parametrize("item", REQUESTS, ids=[item["name"] for item in REQUESTS])
def test_the_url_parts_are_the_raw_url(item: dict[str, Any]) -> None:
    url = item["request"]["url"]
    built = "".join(url["host"]) + "/" + "/".join(url["path"])
    query = "&".join(f"{q['key']}={q['value']}" for q in url.get("query", []))
    assert (built + (f"?{query}" if query else "")) == url["raw"]
    assert built.endswith("/"), "every endpoint's path ends with a slash"


@pytest.mark.parametrize("item", REQUESTS, ids=[item["name"] for item in REQUESTS])
def test_every_request_checks_its_answer(item: dict[str, Any]) -> None:
    tests = [e for e in item.get("event", []) if e["listen"] == "test"]
    assert tests, item["name"]
    assert any("pm.test(" in line for line in tests[0]["script"]["exec"])


def test_the_environment_names_every_variable_the_collection_uses() -> None:
    environment = json.loads((POSTMAN / "local.postman_environment.json").read_text())
    names = {v["key"] for v in environment["values"]}
    text = json.dumps(COLLECTION)
    used = {part.split("}}")[0] for part in text.split("{{")[1:]}
    assert used <= names, used - names
