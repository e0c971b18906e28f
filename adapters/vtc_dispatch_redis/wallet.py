"""Customers' wallets in Redis: each operation one Lua script, exact decimal sums, op ids.

Keys (``P`` is the prefix): ``P:w:<customer>`` hash currency -> free
balance (plain decimal text); ``P:wh:<hold id>`` hash ``c`` customer,
``cur`` currency, ``amt`` amount, ``ref`` reference; ``P:wop:<op id>``
hash ``d`` what the operation did, ``r`` its result, kept
``RedisSettings.wallet_op_ttl_s``.

Each operation is one script: it checks the op id, checks and moves the
money and records the op id's result together, so a call whose reply was
lost and that is made again with the same op id finds its record and
moves nothing.  Lua numbers are binary floats, so the scripts add,
subtract and compare amounts as decimal digit strings.  A script declares
in KEYS the keys it can name beforehand; capture and release find the
wallet from the hold, inside the script (with a hash tag in the prefix all
keys of a tenant share one Cluster slot).

>>> from vtc_dispatch_redis import RedisStorage
>>> wallet = RedisStorage.from_url("redis://127.0.0.1:6379/0", prefix="vtc-doc:{w}").wallet
>>> wallet.credit("alice", Decimal("1000.50"), "XAF", op_id="top-up-1")
>>> wallet.credit("alice", Decimal("1000.50"), "XAF", op_id="top-up-1")  # replayed: no money
>>> wallet.balance("alice", "XAF")
Decimal('1000.5')
>>> RedisStorage.from_url("redis://127.0.0.1:6379/0", prefix="vtc-doc:{w}").clear()
2
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, cast

from vtc_dispatch.errors import NotFound, PaymentRefused
from vtc_dispatch.wallet_ops import (
    amount_text,
    check_amount,
    check_op_id,
    check_same,
    describe_capture,
    describe_credit,
    describe_hold,
    describe_release,
    hold_id_for,
)
from vtc_dispatch_redis.connection import RedisClient, RedisSettings, guarded

__all__ = ["WALLET_LUA", "RedisWallet"]

_COMMON = """
-- Non-negative plain decimals ('1500', '0.25') as text; false counts as 0.
local function parts(s)
  if not s then return '', '' end
  local i, f = string.match(s, '^(%d*)%.?(%d*)$')
  if not i then error('wallet: not a plain decimal amount: ' .. s) end
  return (string.gsub(i, '^0+', '')), (string.gsub(f, '0+$', ''))
end
local function aligned(a, b)
  local ai, af = parts(a)
  local bi, bf = parts(b)
  local n, m = math.max(#ai, #bi), math.max(#af, #bf)
  return string.rep('0', n - #ai) .. ai .. af .. string.rep('0', m - #af),
         string.rep('0', n - #bi) .. bi .. bf .. string.rep('0', m - #bf), m
end
local function text(digits, m)
  local i = string.gsub(string.sub(digits, 1, #digits - m), '^0+', '')
  local f = string.gsub(string.sub(digits, #digits - m + 1), '0+$', '')
  if i == '' then i = '0' end
  if f == '' then return i end
  return i .. '.' .. f
end
local function less(a, b)
  local x, y = aligned(a, b)
  return x < y
end
local function add(a, b)
  local x, y, m = aligned(a, b)
  local out, carry = {}, 0
  for k = #x, 1, -1 do
    local d = string.byte(x, k) + string.byte(y, k) - 96 + carry
    if d >= 10 then d, carry = d - 10, 1 else carry = 0 end
    out[k] = d
  end
  return text((carry == 1 and '1' or '') .. table.concat(out), m)
end
local function sub(a, b)  -- a >= b
  local x, y, m = aligned(a, b)
  local out, borrow = {}, 0
  for k = #x, 1, -1 do
    local d = string.byte(x, k) - string.byte(y, k) - borrow
    if d < 0 then d, borrow = d + 10, 1 else borrow = 0 end
    out[k] = d
  end
  return text(table.concat(out), m)
end
-- The op id's record: {'replay', result} or {'mismatch', what it did}, nil if none.
local function recorded(key, what)
  if not key then return nil end
  local done = redis.call('HMGET', key, 'd', 'r')
  if not done[1] then return nil end
  if done[1] ~= what then return {'mismatch', done[1]} end
  return {'replay', done[2]}
end
local function record(key, what, result, ttl_ms)
  if key then
    redis.call('HSET', key, 'd', what, 'r', result)
    if tonumber(ttl_ms) > 0 then redis.call('PEXPIRE', key, ttl_ms) end
  end
  return {'ok', result}
end
"""

WALLET_LUA = _COMMON
"""Decimal text arithmetic and op-id records, shared with the commit script."""

# KEYS wallet, [op]; ARGV currency, amount, what, ttl (ms)
_CREDIT = (
    _COMMON
    + """
local seen = recorded(KEYS[2], ARGV[3])
if seen then return seen end
redis.call('HSET', KEYS[1], ARGV[1], add(redis.call('HGET', KEYS[1], ARGV[1]), ARGV[2]))
return record(KEYS[2], ARGV[3], '', ARGV[4])
"""
)

# KEYS wallet, hold, [op]; ARGV currency, amount, customer, reference, hold id, what, ttl (ms)
_HOLD = (
    _COMMON
    + """
local seen = recorded(KEYS[3], ARGV[6])
if seen then return seen end
local free = redis.call('HGET', KEYS[1], ARGV[1]) or '0'
if less(free, ARGV[2]) then return {'refused', free} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'exists', ARGV[5]} end
redis.call('HSET', KEYS[1], ARGV[1], sub(free, ARGV[2]))
redis.call('HSET', KEYS[2], 'c', ARGV[3], 'cur', ARGV[1], 'amt', ARGV[2], 'ref', ARGV[4])
return record(KEYS[3], ARGV[6], ARGV[5], ARGV[7])
"""
)

# KEYS hold, [op]; ARGV amount ('' to release), prefix, what, ttl (ms)
_SETTLE = (
    _COMMON
    + """
local seen = recorded(KEYS[2], ARGV[3])
if seen then return seen end
local h = redis.call('HMGET', KEYS[1], 'c', 'cur', 'amt')
if not h[1] then return {'missing'} end
local wallet = ARGV[2] .. ':w:' .. h[1]
local available = add(h[3], redis.call('HGET', wallet, h[2]))
local taken = '0'
if ARGV[1] ~= '' then
  taken = ARGV[1]
  if less(available, taken) then taken = available end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', wallet, h[2], sub(available, taken))
if ARGV[1] == '' then taken = '' end
return record(KEYS[2], ARGV[3], taken, ARGV[4])
"""
)


class RedisWallet:
    """The :class:`~vtc_dispatch.ports.Wallet` in Redis, shared by every worker."""

    def __init__(self, client: RedisClient, settings: RedisSettings) -> None:
        self._client = client
        self._p = settings.prefix
        self._ttl_ms = round(settings.wallet_op_ttl_s * 1000)
        self._credit = client.register_script(_CREDIT)
        self._hold_script = client.register_script(_HOLD)
        self._settle = client.register_script(_SETTLE)

    def _wallet(self, customer_id: str) -> str:
        return f"{self._p}:w:{customer_id}"

    def _hold(self, hold_id: str) -> str:
        return f"{self._p}:wh:{hold_id}"

    def _op(self, op_id: str | None) -> list[str]:
        return [] if check_op_id(op_id) is None else [f"{self._p}:wop:{op_id}"]

    def _run(
        self, what: str, script: Any, keys: list[str], args: list[str], op_id: str | None
    ) -> tuple[str, str]:
        """Run one wallet script; its (status, value), a mismatched op id raised."""
        with guarded(what):
            reply = cast(list[str], script(keys=keys, args=[*args, str(self._ttl_ms)]))
        status, value = reply[0], (reply[1] if len(reply) > 1 else "")
        if status == "mismatch":
            assert op_id is not None
            check_same(op_id, value, args[-1])
        return status, value

    def credit(
        self, customer_id: str, amount: Decimal, currency: str, *, op_id: str | None = None
    ) -> None:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        amount = check_amount(amount, "a credit", positive=True)
        self._run(
            f"crediting the wallet of {customer_id!r}",
            self._credit,
            [self._wallet(customer_id), *self._op(op_id)],
            [currency, amount_text(amount), describe_credit(customer_id, amount, currency)],
            op_id,
        )

    def balance(self, customer_id: str, currency: str) -> Decimal:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        with guarded(f"reading the wallet of {customer_id!r}"):
            free = self._client.hget(self._wallet(customer_id), currency)
        return Decimal(cast(str, free) or 0)

    def hold(
        self,
        customer_id: str,
        amount: Decimal,
        currency: str,
        reference: str,
        *,
        op_id: str | None = None,
    ) -> str:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        amount = check_amount(amount, "a hold", positive=False)
        ops = self._op(op_id)
        hold_id = f"hold-{uuid.uuid4().hex}" if op_id is None else hold_id_for(op_id)
        status, value = self._run(
            f"holding {amount} {currency} on {customer_id!r}",
            self._hold_script,
            [self._wallet(customer_id), self._hold(hold_id), *ops],
            [
                currency,
                amount_text(amount),
                customer_id,
                reference,
                hold_id,
                describe_hold(customer_id, amount, currency, reference),
            ],
            op_id,
        )
        if status == "refused":
            raise PaymentRefused(
                f"wallet of {customer_id!r} holds {Decimal(value)} {currency}, {amount} needed"
            )
        return value

    def capture(self, hold_id: str, amount: Decimal, *, op_id: str | None = None) -> Decimal:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        amount = check_amount(amount, "a capture", positive=False)
        status, value = self._run(
            f"capturing wallet hold {hold_id!r}",
            self._settle,
            [self._hold(hold_id), *self._op(op_id)],
            [amount_text(amount), self._p, describe_capture(hold_id, amount)],
            op_id,
        )
        if status == "missing":
            raise NotFound(f"no wallet hold {hold_id!r}")
        return Decimal(value)

    def release(self, hold_id: str, *, op_id: str | None = None) -> None:
        """See :class:`~vtc_dispatch.ports.Wallet`."""
        status, _ = self._run(
            f"releasing wallet hold {hold_id!r}",
            self._settle,
            [self._hold(hold_id), *self._op(op_id)],
            ["", self._p, describe_release(hold_id)],
            op_id,
        )
        if status == "missing":
            raise NotFound(f"no wallet hold {hold_id!r}")
