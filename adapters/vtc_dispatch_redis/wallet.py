"""Customers' wallets in Redis, with exact Decimal arithmetic in optimistic transactions.

Keys: ``P:w:<customer>`` hash currency -> free balance (Decimal text);
``P:wh:<hold id>`` hash ``c`` customer, ``cur`` currency, ``amt`` amount,
``ref`` reference; ``P:whseq`` counter naming the holds.  Balances are
read under WATCH and written in MULTI/EXEC, retried when another worker
wrote in between: Lua would do the sums in binary floating point.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar, cast

import redis

from vtc_dispatch.errors import ConcurrencyConflict, InvalidMoney, NotFound, PaymentRefused
from vtc_dispatch_redis.connection import RedisSettings, guarded

__all__ = ["RedisWallet"]

T = TypeVar("T")
_ATTEMPTS = 50


def _watch(pipe: redis.client.Pipeline, key: str) -> None:
    pipe.watch(key)  # type: ignore[no-untyped-call]  # untyped in redis-py


def _amount(stored: object) -> Decimal:
    return Decimal(cast(str, stored) or 0)


class RedisWallet:
    """The :class:`~vtc_dispatch.ports.Wallet` in Redis, shared by every worker."""

    def __init__(self, client: redis.Redis, settings: RedisSettings) -> None:
        self._client = client
        self._p = settings.prefix

    def _wallet(self, customer_id: str) -> str:
        return f"{self._p}:w:{customer_id}"

    def _hold(self, hold_id: str) -> str:
        return f"{self._p}:wh:{hold_id}"

    def _transact(self, what: str, body: Callable[[redis.client.Pipeline], T]) -> T:
        with guarded(what):
            for _ in range(_ATTEMPTS):
                with self._client.pipeline() as pipe:
                    try:
                        return body(pipe)
                    except redis.WatchError:
                        continue
        raise ConcurrencyConflict(f"{what}: still contended after {_ATTEMPTS} attempts")

    def credit(self, customer_id: str, amount: Decimal, currency: str) -> None:
        """Top up a wallet (the host's payment flow calls this)."""
        if not (isinstance(amount, Decimal) and amount.is_finite() and amount > 0):
            raise InvalidMoney(f"a credit must be a Decimal > 0, got {amount!r}")
        key = self._wallet(customer_id)

        def body(pipe: redis.client.Pipeline) -> None:
            _watch(pipe, key)
            free = _amount(pipe.hget(key, currency))
            pipe.multi()
            pipe.hset(key, currency, str(free + amount))
            pipe.execute()

        self._transact(f"crediting the wallet of {customer_id!r}", body)

    def balance(self, customer_id: str, currency: str) -> Decimal:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        with guarded(f"reading the wallet of {customer_id!r}"):
            free = self._client.hget(self._wallet(customer_id), currency)
        return _amount(free)

    def hold(self, customer_id: str, amount: Decimal, currency: str, reference: str) -> str:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        if not (isinstance(amount, Decimal) and amount.is_finite() and amount >= 0):
            raise InvalidMoney(f"a hold must be a Decimal >= 0, got {amount!r}")
        key = self._wallet(customer_id)
        with guarded("naming a wallet hold"):
            hold_id = f"hold-{self._client.incr(f'{self._p}:whseq')}"

        def body(pipe: redis.client.Pipeline) -> str:
            _watch(pipe, key)
            free = _amount(pipe.hget(key, currency))
            if free < amount:
                raise PaymentRefused(
                    f"wallet of {customer_id!r} holds {free} {currency}, {amount} needed"
                )
            pipe.multi()
            pipe.hset(key, currency, str(free - amount))
            pipe.hset(
                self._hold(hold_id),
                mapping={"c": customer_id, "cur": currency, "amt": str(amount), "ref": reference},
            )
            pipe.execute()
            return hold_id

        return self._transact(f"holding {amount} {currency} on {customer_id!r}", body)

    def _settle(self, hold_id: str, amount: Decimal | None) -> Decimal:
        """Close a hold: take ``amount`` (``None``: nothing) and free the rest."""
        hold_key = self._hold(hold_id)

        def body(pipe: redis.client.Pipeline) -> Decimal:
            _watch(pipe, hold_key)
            hold: dict[str, str] = cast(dict[str, str], pipe.hgetall(hold_key))
            if not hold:
                raise NotFound(f"no wallet hold {hold_id!r}")
            key = self._wallet(hold["c"])
            _watch(pipe, key)
            available = Decimal(hold["amt"]) + _amount(pipe.hget(key, hold["cur"]))
            taken = Decimal(0) if amount is None else min(amount, available)
            pipe.multi()
            pipe.delete(hold_key)
            pipe.hset(key, hold["cur"], str(available - taken))
            pipe.execute()
            return taken

        return self._transact(f"settling wallet hold {hold_id!r}", body)

    def capture(self, hold_id: str, amount: Decimal) -> Decimal:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        if not (isinstance(amount, Decimal) and amount.is_finite() and amount >= 0):
            raise InvalidMoney(f"a capture must be a Decimal >= 0, got {amount!r}")
        return self._settle(hold_id, amount)

    def release(self, hold_id: str) -> None:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        self._settle(hold_id, None)
