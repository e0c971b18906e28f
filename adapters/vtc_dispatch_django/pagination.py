"""Pages of a history: the host's ``DEFAULT_PAGINATION_CLASS``, page numbers by default.

The histories page with the class the host's ``REST_FRAMEWORK`` names
(any REST framework paginator over a sequence: page numbers, limit and
offset), else :class:`OrderPagination`: ``?page=2&page_size=20`` answered
``{"count": .., "next": url, "previous": url, "results": [..]}``.  The
orders come from the service's repository a page at a time
(:class:`OrderHistory`), whatever stores them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.settings import api_settings

from vtc_dispatch.errors import shown
from vtc_dispatch.order import Actor, Order
from vtc_dispatch.ports import OrderRepository

__all__ = ["MAX_PAGE_SIZE", "OrderHistory", "OrderPagination", "pagination_class"]

MAX_PAGE_SIZE = 100
"""The largest page a client may ask for."""


def _whole(request: Any, name: str, low: int, high: int | None) -> int | None:
    """The query parameter ``name`` as an integer in [low, high]; a 400 naming it otherwise."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    value = int(raw) if raw.isascii() and raw.isdigit() else None
    if value is None or value < low or (high is not None and value > high):
        bound = f"{low} to {high}" if high is not None else f"{low} or more"
        raise ValidationError({name: f"must be an integer, {bound}, got {shown(raw)}"})
    return value


class OrderPagination(PageNumberPagination):
    """Page numbers from 1 (404 past the last page), ``page_size`` 1 to 100 (the host's
    ``PAGE_SIZE``, else 20); anything else in them is a 400 naming the parameter."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    last_page_strings = ()

    def __init__(self) -> None:
        self.page_size = api_settings.PAGE_SIZE or 20

    def get_page_size(self, request: Any) -> int:
        size = _whole(request, self.page_size_query_param, 1, self.max_page_size)
        return self.page_size if size is None else size

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        _whole(request, self.page_query_param, 1, None)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        bounds = {
            self.page_query_param: {"minimum": 1},
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters


def pagination_class() -> type[Any]:
    """The host's ``DEFAULT_PAGINATION_CLASS``, else :class:`OrderPagination`."""
    return api_settings.DEFAULT_PAGINATION_CLASS or OrderPagination


class OrderHistory(Sequence[Order]):
    """The orders of a customer or a driver, newest first, read a slice at a time: what a
    paginator pages (its ``count`` is the repository's)."""

    def __init__(self, orders: OrderRepository, actor: Actor) -> None:
        self._orders = orders
        self._actor = actor
        self._count: int | None = None

    def count(self) -> int:  # type: ignore[override]
        """How many orders there are (Django's paginator asks this first)."""
        if self._count is None:
            self._count = self._orders.count(self._actor.role, self._actor.id)
        return self._count

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, index: int) -> Order: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Order]: ...
    def __getitem__(self, index: int | slice) -> Order | Sequence[Order]:
        if isinstance(index, int):
            found = self._orders.find(self._actor.role, self._actor.id, offset=index, limit=1)
            if not found:
                raise IndexError(index)
            return found[0]
        start, stop, step = index.indices(len(self))
        if step != 1:
            raise ValueError("an order history is read in slices with no step")
        return self._orders.find(
            self._actor.role, self._actor.id, offset=start, limit=max(stop - start, 0)
        )
