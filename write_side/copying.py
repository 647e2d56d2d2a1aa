"""Copies of aggregates for the event store to keep and hand out: what may change is copied,
what cannot is shared (strings, numbers, UUIDs, dates and times, decimals, enums, and frozen
dataclasses of those), which `copy.deepcopy` copies anyway. On a trip of 5 destinations x 5
activities it takes about a tenth of deepcopy's time, and every command copies its trip.

Aggregates' state is a tree of plain objects: dicts, lists, `UserDict`s, dataclasses and
the aggregate itself, their leaves values. A value of any other kind (a set, an object with
slots or its own copy protocol, a frozen dataclass holding something mutable) is copied by
`copy.deepcopy`, so a new kind of state is never shared by mistake, only copied slower.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import UserDict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

T = TypeVar("T")

_VALUES: frozenset[type] = frozenset(
    {str, int, float, bool, bytes, type(None), UUID, date, datetime, time, timedelta, Decimal}
)


def copied(value: T) -> T:
    """A copy of `value` that shares nothing mutable with it."""
    return _copy(value)  # type: ignore[no-any-return]


_VALUE, _DICT, _LIST, _FROZEN, _NODE, _OTHER = range(6)  # how a type is copied
_HOW: dict[type, int] = {}


def _copy(value: Any) -> Any:
    kind = type(value)
    how = _HOW.get(kind)
    if how is None:
        how = _HOW[kind] = _how(kind)
    if how == _VALUE:
        return value
    if how == _NODE:
        twin = object.__new__(kind)
        twin.__dict__.update(
            {
                name: item if type(item) in _VALUES else _copy(item)
                for name, item in value.__dict__.items()
            }
        )
        return twin
    if how == _DICT:
        if all(type(key) in _VALUES for key in value):
            return {key: _copy(item) for key, item in value.items()}
    elif how == _LIST:
        return [_copy(item) for item in value]
    elif how == _FROZEN and all(_copy(item) is item for item in value.__dict__.values()):
        return value  # a frozen dataclass of values is a value
    return copy.deepcopy(value)


def _how(kind: type) -> int:
    if kind in _VALUES or issubclass(kind, Enum):
        return _VALUE
    if kind is dict:
        return _DICT
    if kind is list:
        return _LIST
    if not (issubclass(kind, Aggregate | UserDict) or dataclasses.is_dataclass(kind)):
        return _OTHER
    for base in kind.__mro__[:-1]:  # all but object
        own = vars(base)
        if own.get("__slots__") or _OWN_PROTOCOL & own.keys():
            return _OTHER
    if dataclasses.is_dataclass(kind) and kind.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        return _FROZEN
    return _NODE


_OWN_PROTOCOL = frozenset(
    {"__deepcopy__", "__reduce__", "__reduce_ex__", "__getstate__", "__setstate__"}
)
