"""A faster :func:`attrs.evolve` for the records the service rewrites at every command.

``attrs.evolve`` inspects the class's fields and builds a keyword dictionary
on every call (about 6 us for an :class:`~vtc_dispatch.order.Order`).  The
copier generated here once per class passes every field positionally to the
class's own ``__init__``, so validators and ``__attrs_post_init__`` still
run, in half the time.

>>> import attrs
>>> @attrs.frozen
... class Point:
...     x: int
...     y: int = 0
>>> evolve(Point(1, 2), y=5)
Point(x=1, y=5)
>>> evolve(Point(1, 2), z=5)
Traceback (most recent call last):
...
TypeError: Point has no field 'z' to change
"""

from __future__ import annotations

from collections.abc import Callable
from types import MemberDescriptorType
from typing import Any, TypeVar

import attrs

from vtc_dispatch.errors import shown

__all__ = ["evolve", "slot_builder", "slot_copier"]

T = TypeVar("T")

_COPIERS: dict[type, Callable[..., Any]] = {}
_KEEP = object()


def evolve(inst: T, **changes: Any) -> T:
    """A copy of the attrs instance ``inst`` with ``changes`` applied (as :func:`attrs.evolve`)."""
    cls = inst.__class__
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _COPIERS[cls] = _make_copier(cls)
    try:
        return copier(inst, **changes)  # type: ignore[no-any-return]
    except TypeError:
        unknown = set(changes) - {a.name for a in attrs.fields(cls) if a.init}  # type: ignore[arg-type]
        if unknown:
            raise TypeError(
                f"{cls.__name__} has no field {shown(min(unknown))} to change"
            ) from None
        raise


def _make_copier(cls: type) -> Callable[..., Any]:
    fields = [a for a in attrs.fields(cls) if a.init]
    params = ", ".join(f"{a.name}=_KEEP" for a in fields)
    args = ", ".join(
        f"{a.alias}=inst.{a.name} if {a.name} is _KEEP else {a.name}"
        if a.kw_only
        else f"inst.{a.name} if {a.name} is _KEEP else {a.name}"
        for a in fields
    )
    source = f"def copy(inst, *, {params}):\n    return cls({args})\n"
    namespace: dict[str, Any] = {"_KEEP": _KEEP, "cls": cls}
    exec(source, namespace)
    return namespace["copy"]  # type: ignore[no-any-return]


def slot_copier(cls: type[T], *changed: str) -> Callable[..., T]:
    """A function copying an instance of ``cls`` with the fields ``changed`` given positionally.

    For the few records rebuilt at every GPS fix.  attrs' ``__init__`` of a
    frozen slotted class sets each field with ``object.__setattr__``, which
    looks the name up on the class on every call; the copier generated here
    calls each slot's own descriptor, which does the same store at a third of
    the cost.  So that it does what ``__init__`` would, ``cls`` must be slotted
    with nothing in its ``__init__`` but stores: no validator, converter or
    ``__attrs_post_init__``.

    >>> @attrs.frozen
    ... class Fix:
    ...     driver: str
    ...     lat: float = 0.0
    ...     lng: float = 0.0
    >>> moved = slot_copier(Fix, "lat", "lng")
    >>> moved(Fix("amadou"), 4.05, 9.7)
    Fix(driver='amadou', lat=4.05, lng=9.7)
    >>> slot_copier(Fix, "speed")
    Traceback (most recent call last):
    ...
    TypeError: Fix has no field 'speed' to change
    """
    return _generate(cls, changed, copy=True)


def slot_builder(cls: type[T]) -> Callable[..., T]:
    """A function building ``cls`` from all its fields, given positionally: what
    :func:`slot_copier` does with every field changed, for the records every fix makes.

    >>> @attrs.frozen
    ... class Seen:
    ...     driver: str
    ...     at: int = 0
    >>> slot_builder(Seen)("amadou", 7) == Seen("amadou", 7)
    True
    """
    return _generate(cls, tuple(a.name for a in attrs.fields(cls)), copy=False)  # type: ignore[arg-type]


def _generate(cls: type[T], changed: tuple[str, ...], *, copy: bool) -> Callable[..., T]:
    fields = attrs.fields(cls)  # type: ignore[arg-type]
    names = [a.name for a in fields]
    if len(set(changed)) != len(changed):
        raise TypeError(f"a field of {cls.__name__} is changed twice: {changed}")
    unknown = set(changed) - set(names)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {shown(min(unknown))} to change")
    if hasattr(cls, "__attrs_post_init__") or any(
        a.validator is not None or a.converter is not None or not a.init for a in fields
    ):
        raise TypeError(f"{cls.__name__}.__init__ does more than store its fields")
    setters: dict[str, Any] = {}
    for name in names:
        slot = next((k.__dict__[name] for k in cls.__mro__ if name in k.__dict__), None)
        if not isinstance(slot, MemberDescriptorType):
            raise TypeError(f"{cls.__name__}.{name} is not a slot")
        setters[f"_set_{name}"] = slot.__set__
    # Parameters are numbered: a field may be called "inst" or "new".
    params = {name: f"_{k}" for k, name in enumerate(changed)}
    body = "".join(f"    _set_{name}(new, {params.get(name, 'inst.' + name)})\n" for name in names)
    first = ["inst"] if copy else []
    head = f"def copy({', '.join(first + list(params.values()))}):\n    new = _new(cls)\n"
    source = f"{head}{body}    return new\n"
    namespace: dict[str, Any] = {"_new": object.__new__, "cls": cls, **setters}
    exec(source, namespace)
    return namespace["copy"]  # type: ignore[no-any-return]
