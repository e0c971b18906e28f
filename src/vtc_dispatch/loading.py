"""Reading configuration files (JSON, YAML, TOML) and naming the field of a validation error."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from pydantic import ValidationError

from vtc_dispatch.errors import InvalidPricingConfig, shown

__all__ = ["describe_error", "read_config_file"]


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not out:
            out = part
        else:
            out += f".{part}"
    return out


def describe_error(error: ValidationError) -> str:
    """The innermost problem of a validation error as ``field.path: message (got value)``.

    >>> from pydantic import BaseModel
    >>> class Point(BaseModel):
    ...     lat: float
    >>> try:
    ...     Point.model_validate({"lat": "north"})
    ... except ValidationError as exc:
    ...     print(describe_error(exc))
    lat: Input should be a valid number, unable to parse string as a number (got 'north')
    """
    errors = error.errors(include_url=False)
    # A bad item also makes its container fail (e.g. "too short" once the
    # item is dropped); only the innermost problems are worth reporting.
    leaves = [
        e
        for e in errors
        if not any(o is not e and o["loc"][: len(e["loc"])] == e["loc"] for o in errors)
    ]
    first = leaves[0]
    where = _location(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if "input" in first and first["type"] not in {"value_error", "missing"}:
        message += f" (got {shown(first['input'])})"
    extra = len(leaves) - 1
    more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
    return f"{where}: {message}{more}" if where else f"{message}{more}"


def read_config_file(path: Path) -> object:
    """The parsed content of a ``.json``, ``.yaml``/``.yml`` or ``.toml`` file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidPricingConfig(f"cannot read {path}: {exc.strerror}") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix in {".yaml", ".yml"}:
            import yaml  # noqa: PLC0415  (only needed for YAML files)

            return yaml.safe_load(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise InvalidPricingConfig(f"{path}: not valid {suffix[1:].upper()}: {exc}") from None
    except Exception as exc:  # yaml.YAMLError and friends
        raise InvalidPricingConfig(f"{path}: not valid YAML: {exc}") from None
    raise InvalidPricingConfig(
        f"{path}: unknown format {shown(suffix)} (use .json, .yaml or .toml)"
    )
