"""docs/protocol.md lists every message with exactly the fields of its schema.

The page's tables are what an app developer reads; ``python -m
vtc_dispatch.wire`` is what the server enforces.  A message, a field or an
optional marker that differs between them fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from vtc_dispatch.wire import (
    CustomerInbound,
    CustomerOutbound,
    DriverInbound,
    DriverOutbound,
    json_schemas,
)

PAGE = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
SECTIONS = {
    "The driver sends": DriverInbound,
    "The driver receives": DriverOutbound,
    "The customer sends": CustomerInbound,
    "The customer receives": CustomerOutbound,
}
_ROW = re.compile(r"^\| `(\w+)` \|([^|]*)\|")


def _tables() -> dict[str, dict[str, dict[str, bool]]]:
    """Section -> message type -> field -> whether the page marks it optional."""
    tables: dict[str, dict[str, dict[str, bool]]] = {}
    section = None
    for line in PAGE.read_text().splitlines():
        if line.startswith("### "):
            section = line.removeprefix("### ").strip()
            tables[section] = {}
        elif section is not None and (match := _ROW.match(line)):
            fields = re.findall(r"`(\w+)(\??)`", match.group(2))
            tables[section][match.group(1)] = {name: bool(mark) for name, mark in fields}
    return tables


def _types(union: object) -> set[str]:
    from typing import get_args

    return {m.model_fields["type"].default for m in get_args(get_args(union)[0])}


def test_every_message_of_each_side_is_on_the_page_with_its_fields() -> None:
    tables = _tables()
    schemas = json_schemas()
    assert set(SECTIONS) <= set(tables)
    for section, union in SECTIONS.items():
        documented = tables[section]
        assert set(documented) == _types(union), section
        for message_type, fields in documented.items():
            schema = schemas[message_type]
            required = set(schema.get("required", ())) - {"type"}
            properties = set(schema["properties"]) - {"type"}
            assert set(fields) == properties, message_type
            assert {f for f, optional in fields.items() if not optional} == required, message_type


def test_the_schemas_print_without_a_warning() -> None:
    """main's `python -m vtc_dispatch.wire` left out the answers (ok, error, order_created...)."""
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "vtc_dispatch.wire"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stderr == ""
    for message_type in ("order_created", "state", "ok", "error", "position_refused", "pong"):
        assert f'"{message_type}"' in done.stdout
