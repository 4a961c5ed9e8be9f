"""Domain events to JSON documents and back, exactly: the journal's canonical event stream.

:func:`encode_event` gives an event's type name and a JSON-ready payload (decimals as strings,
enums as their values, nested dataclasses as objects, tuples as lists); :func:`decode_event`
rebuilds an event equal to the original. Floats stay JSON numbers: Python writes their shortest
round-tripping repr, and PostgreSQL's ``JSONB`` keeps that decimal exactly (it may spell it
differently: ``1e+16`` comes back as the integer ``10000000000000000``, which decodes to the same
float). The floats a JSON number cannot carry exactly are written as strings: ``"NaN"``,
``"Infinity"``, ``"-Infinity"`` (no JSON literal; PostgreSQL refuses Python's) and ``"-0.0"``
(``JSONB`` drops the sign of zero). One thing ``JSONB`` does not keep is the order of an object's
keys, so a mapping (a signal's model votes) may come back in another order: it compares equal.

The decoder is hand-written, driven by the dataclass fields' type hints, because no well-kept
library rebuilds these frozen, slotted dataclasses both strictly and exactly: pydantic's
``TypeAdapter`` gets the values right but, on a dict, only in lax mode, which coerces (``"3"`` for
an int, ``0`` for a bool) and silently drops unknown keys of stdlib dataclasses; cattrs would be a
new dependency for what a hundred-odd lines do here. This decoder accepts only what
:func:`encode_event` writes (plus an integral JSON number for a float, see above), refuses unknown
keys, fills a missing field only from its dataclass default (so adding a defaulted field to an
event keeps old journals readable; an event's ``event_id``, ``ts_event`` and ``ts_init`` are
always required), and runs each value object's own validation. Every failure is a
:class:`StorageError` naming the event type and the field path.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, fields, is_dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import cache
from typing import Any, NewType

from trading_agent.domain import TradingAgentError
from trading_agent.domain import events as domain_events
from trading_agent.domain.events import Event
from trading_agent.storage.errors import StorageError

__all__ = ["EVENT_TYPES", "decode_event", "encode_event", "to_json"]

EVENT_TYPES: Mapping[str, type[Event]] = types.MappingProxyType(
    {name: getattr(domain_events, name) for name in domain_events.__all__ if name != "Event"}
)
"""Every concrete event class by the type name the journal stores."""

_FLOAT_WORDS = frozenset({"NaN", "Infinity", "-Infinity", "-0.0"})
# An event's identity has default factories (a fresh UUID, the wall clock): never a stand-in for a stored value.
_EVENT_IDENTITY = frozenset({"event_id", "ts_event", "ts_init"})


def to_json(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses become objects, decimals strings, enums their values.

    Tuples and lists become lists, mappings objects (keys as strings); a non-finite float or ``-0.0``
    becomes a string (``"NaN"``, ``"Infinity"``, ``"-Infinity"``, ``"-0.0"``; see the module doc).
    """
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and (not math.isfinite(value) or (value == 0 and math.copysign(1, value) < 0)):
        return "NaN" if math.isnan(value) else repr(value).replace("inf", "Infinity")
    if is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_json(getattr(value, field.name)) for field in fields(value)}
    if isinstance(value, Mapping):
        return {str(name): to_json(item) for name, item in value.items()}
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    return value


def encode_event(event: Event) -> tuple[str, dict[str, Any]]:
    """``(event type name, JSON-ready payload)``; :func:`decode_event` turns them back into ``event``."""
    event_type = type(event).__name__
    if EVENT_TYPES.get(event_type) is not type(event):
        raise StorageError(f"cannot encode {type(event).__qualname__}: not an event of trading_agent.domain.events")
    payload: dict[str, Any] = to_json(event)
    return event_type, payload


def decode_event(event_type: str, payload: Mapping[str, Any]) -> Event:
    """The event that :func:`encode_event` turned into ``(event_type, payload)``, equal to the original.

    Raises :class:`StorageError` naming the type and the field for an unknown type or a payload
    that does not describe a valid event.
    """
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise StorageError(f"unknown event type {event_type!r}")
    try:
        event: Event = _decode(cls, payload, event_type)
    except _DecodeError as exc:
        raise StorageError(f"cannot decode {event_type}: field {exc.path}: {exc.message}") from exc
    return event


class _DecodeError(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        self.message = message


@cache
def _field_hints(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    hints = typing.get_type_hints(cls)
    identity = _EVENT_IDENTITY if issubclass(cls, Event) else frozenset()
    return tuple(
        (
            field.name,
            hints[field.name],
            field.name in identity or (field.default is MISSING and field.default_factory is MISSING),
        )
        for field in fields(cls)
        if field.init
    )


def _decode(hint: Any, value: Any, path: str) -> Any:
    if isinstance(hint, NewType):
        return _decode(hint.__supertype__, value, path)
    origin = typing.get_origin(hint)
    if origin is types.UnionType or origin is typing.Union:
        return _decode_optional(hint, value, path)
    if origin is tuple:
        return _decode_tuple(hint, value, path)
    if origin is Mapping:
        return _decode_mapping(hint, value, path)
    if isinstance(hint, type) and is_dataclass(hint):
        return _decode_dataclass(hint, value, path)
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(value)
        except ValueError:
            raise _DecodeError(path, f"{value!r} is not a {hint.__name__}") from None
    if hint is Decimal:
        return _decode_decimal(value, path)
    if hint is float:
        return _decode_float(value, path)
    if hint in (int, str, bool) and type(value) is hint:
        return value
    if hint in (int, str, bool):
        raise _DecodeError(path, f"expected {hint.__name__}, got {type(value).__name__} {value!r}")
    raise _DecodeError(path, f"the codec cannot decode the type {hint!r}")


def _decode_dataclass(cls: type, value: Any, path: str) -> Any:
    if not isinstance(value, Mapping):
        raise _DecodeError(path, f"expected an object for {cls.__name__}, got {type(value).__name__}")
    hints = _field_hints(cls)
    unknown = set(value) - {name for name, _, _ in hints}
    if unknown:
        raise _DecodeError(path, f"unknown field(s) {sorted(unknown)} for {cls.__name__}")
    arguments: dict[str, Any] = {}
    for name, hint, required in hints:
        if name in value:
            arguments[name] = _decode(hint, value[name], f"{path}.{name}")
        elif required:
            raise _DecodeError(f"{path}.{name}", "missing")
    try:
        return cls(**arguments)
    except (TradingAgentError, ValueError, TypeError) as exc:  # a value object's own validation
        raise _DecodeError(path, f"invalid {cls.__name__}: {exc}") from exc


def _decode_optional(hint: Any, value: Any, path: str) -> Any:
    options = [option for option in typing.get_args(hint) if option is not type(None)]
    if len(options) != 1:
        raise _DecodeError(path, f"the codec decodes only `X | None` unions, not {hint!r}")
    return None if value is None else _decode(options[0], value, path)


def _decode_tuple(hint: Any, value: Any, path: str) -> tuple[Any, ...]:
    arguments = typing.get_args(hint)
    if len(arguments) != 2 or arguments[1] is not Ellipsis:
        raise _DecodeError(path, f"the codec decodes only `tuple[X, ...]`, not {hint!r}")
    if not isinstance(value, list):
        raise _DecodeError(path, f"expected a list, got {type(value).__name__}")
    return tuple(_decode(arguments[0], item, f"{path}[{index}]") for index, item in enumerate(value))


def _decode_mapping(hint: Any, value: Any, path: str) -> dict[str, Any]:
    key_type, value_type = typing.get_args(hint)
    if key_type is not str:
        raise _DecodeError(path, f"the codec decodes only mappings with str keys, not {hint!r}")
    if not isinstance(value, Mapping):
        raise _DecodeError(path, f"expected an object, got {type(value).__name__}")
    return {str(key): _decode(value_type, item, f"{path}[{key!r}]") for key, item in value.items()}


def _decode_decimal(value: Any, path: str) -> Decimal:
    if not isinstance(value, str):
        raise _DecodeError(path, f"expected a decimal string, got {type(value).__name__} {value!r}")
    try:
        decoded = Decimal(value)
    except InvalidOperation:
        decoded = None
    if decoded is None or str(decoded) != value:
        raise _DecodeError(path, f"{value!r} is not a decimal in canonical form")
    return decoded


def _decode_float(value: Any, path: str) -> float:
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)  # JSONB spells an integral float (1e16) as an integer
    if isinstance(value, str) and value in _FLOAT_WORDS:
        return float(value)
    raise _DecodeError(path, f"expected a number, got {type(value).__name__} {value!r}")
