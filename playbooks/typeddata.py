"""Typed data: what a TOML or YAML file holds, read into frozen dataclasses, every value checked
against the type and the limits declared on its field, every problem named by where it is
(`mqtt.port`, `obligations[2].due`); and the same dataclasses written back as plain JSON data.

Why not pydantic: importing it and building the models of the settings and the plans took two
thirds of every command's start (issue 12), and this is all that those files need:

| declared | read from |
|---|---|
| `str`, `bool`, `int`, `float` | that type (an integer is also a float; a boolean is never a number) |
| `Path`, `Secret` | a string |
| `date`, `time` | a date or a time, or an ISO string (`2026-10-01`, `17:30`) |
| `timedelta` | a number of seconds |
| an enum | one of its values |
| `Literal[...]` | one of the values |
| `tuple[X, ...]`, `dict[str, X]` | a list, a mapping |
| a dataclass | a mapping; keys it does not declare are refused |
| `Annotated[X, Check(...)]` | X within the check's limits |
| `Annotated[X, Parse(read, write)]` | what `read` makes an X of (ValueError, TypeError: why not) |

A field declared with `field(metadata={"key": "from"})` is read and written under that key.

A dataclass's `__post_init__` may raise ValueError for rules across its fields; the message is
reported at the dataclass's own place.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

T = TypeVar("T")
Loc = tuple[int | str, ...]


@typing.dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(dataclasses.field,))
def model(cls: type[T]) -> type[T]:
    """The decorator of a data model read by `read`: a dataclass, frozen, its fields given by name."""
    return dataclass(frozen=True, kw_only=True)(cls)


class Secret:
    """A password: its value only through `get_secret_value()`, never in a repr or a message."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class Check:
    """Limits on a value, declared with `Annotated[int, Check(ge=0)]`."""

    ge: float | None = None
    gt: float | None = None
    lt: float | None = None
    le: float | None = None
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    valid: Callable[[Any], Any] | None = None  # raises ValueError with the reason

    def __call__(self, value: Any) -> Any:
        if self.ge is not None and value < self.ge:
            raise ValueError(f"must be at least {self.ge}")
        if self.gt is not None and value <= self.gt:
            raise ValueError(f"must be more than {self.gt}")
        if self.lt is not None and value >= self.lt:
            raise ValueError(f"must be less than {self.lt}")
        if self.le is not None and value > self.le:
            raise ValueError(f"must be at most {self.le}")
        if self.pattern is not None and not re.search(self.pattern, value):
            raise ValueError(f"{value!r} does not match {self.pattern}")
        if self.min_length is not None and len(value) < self.min_length:
            raise ValueError(f"needs at least {self.min_length} item(s)")
        if self.max_length is not None and len(value) > self.max_length:
            raise ValueError(f"at most {self.max_length} characters")
        return self.valid(value) if self.valid is not None else value


@dataclass(frozen=True, slots=True)
class Parse:
    """A type read from plain data by `read` (ValueError or TypeError: why not), written by `write`."""

    read: Callable[[Any], Any]
    write: Callable[[Any], Any] = str


class ProblemsError(Exception):
    """What is wrong, as (where, message) pairs; `where` is a path of keys and list indexes."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__(problems)
        self.problems = problems


def dotted(loc: Loc) -> str:
    """`obligations[2].due`; "" for the top."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def read(cls: type[T], data: Any) -> T:
    """`data` as an instance of the dataclass `cls`; ProblemsError listing every problem if not."""
    return typing.cast(T, _convert(cls, data, ()))


def given(section: object) -> frozenset[str]:
    """The fields the data gave for this dataclass (the others took their defaults)."""
    return typing.cast(frozenset[str], getattr(section, "_given", frozenset()))


def dump(obj: Any) -> Any:
    """A dataclass as plain JSON data (each field under its key, in order), as `read` takes it."""
    return _dump(type(obj), obj)


def dumps(obj: Any) -> str:
    """`dump` as compact JSON text, the same for the same data (what fingerprints hash)."""
    return json.dumps(dump(obj), ensure_ascii=False, separators=(",", ":"))


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls, include_extras=True)
    return hints


def _key(field: dataclasses.Field[Any]) -> str:
    return typing.cast(str, field.metadata.get("key", field.name))


def _convert(hint: Any, value: Any, loc: Loc) -> Any:
    origin = typing.get_origin(hint)
    if origin is Annotated:
        return _annotated(typing.get_args(hint), value, loc)
    if origin in (types.UnionType, typing.Union):
        return _union(typing.get_args(hint), value, loc)
    if origin is Literal:
        if value in typing.get_args(hint) and not isinstance(value, bool):
            return value
        raise ProblemsError([(loc, f"should be {_choices(typing.get_args(hint))}, not {value!r}")])
    if origin is tuple:
        return tuple(_each(typing.get_args(hint)[0], enumerate(_expect(list, value, loc, "a list")), loc))
    if origin is dict:
        table = _expect(dict, value, loc, "a mapping")
        return dict(zip(table, _each(typing.get_args(hint)[1], table.items(), loc), strict=True))
    if dataclasses.is_dataclass(hint):
        if isinstance(value, typing.cast(type, hint)):
            return value
        return _table(typing.cast(type, hint), _expect(dict, value, loc, "a mapping"), loc)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            choices = _choices(tuple(member.value for member in hint))
            raise ProblemsError([(loc, f"should be {choices}, not {value!r}")]) from None
    if hint is Any:
        return value
    return _scalar(hint, value, loc)


def _annotated(args: tuple[Any, ...], value: Any, loc: Loc) -> Any:
    inner, *marks = args
    try:
        parse = next((m for m in marks if isinstance(m, Parse)), None)
        if parse is None:
            result = _convert(inner, value, loc)
        elif isinstance(inner, type) and isinstance(value, inner):
            result = value
        else:
            result = parse.read(value)
        for mark in marks:
            if isinstance(mark, Check):
                result = mark(result)
    except (ValueError, TypeError) as exc:
        raise ProblemsError([(loc, str(exc))]) from None
    return result


def _choices(values: tuple[Any, ...]) -> str:
    return " or ".join(repr(v) for v in values)


def _union(choices: tuple[Any, ...], value: Any, loc: Loc) -> Any:
    if value is None and type(None) in choices:
        return None
    last: ProblemsError | None = None
    for choice in choices:
        if choice is type(None):
            continue
        try:
            return _convert(choice, value, loc)
        except ProblemsError as exc:
            last = exc
    assert last is not None
    raise last


def _each(hint: Any, items: Iterable[tuple[Any, Any]], loc: Loc) -> list[Any]:
    problems, converted = [], []
    for key, item in items:
        try:
            converted.append(_convert(hint, item, (*loc, key)))
        except ProblemsError as exc:
            problems += exc.problems
    if problems:
        raise ProblemsError(problems)
    return converted


def _expect(kind: type[T], value: Any, loc: Loc, what: str) -> T:
    if not isinstance(value, kind):
        raise ProblemsError([(loc, f"should be {what}, not {value!r}")])
    return value


def _scalar(hint: Any, value: Any, loc: Loc) -> Any:
    if hint in (str, bool) and isinstance(value, hint):
        return value
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int and number and isinstance(value, int):
        return value
    if hint is float and number:
        return float(value)
    if hint is timedelta and number:
        return timedelta(seconds=value)
    if hint in (Path, Secret) and isinstance(value, str):
        return hint(value)
    if hint in (date, time):
        if isinstance(value, hint) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return hint.fromisoformat(value)
            except ValueError:
                pass
    raise ProblemsError(
        [(loc, f"should be {_NAMES.get(hint, getattr(hint, '__name__', hint))}, not {value!r}")]
    )


_NAMES = {
    str: "a string",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    timedelta: "a number of seconds",
    Path: "a path (a string)",
    Secret: "a string",
    date: "a date (2026-10-01)",
    time: "a time of day (17:30)",
}


def _table(cls: type, table: dict[str, Any], loc: Loc) -> Any:
    fields = {_key(f): f for f in dataclasses.fields(cls) if f.init}
    hints = _hints(cls)
    problems = [((*loc, key), "unknown key") for key in table if key not in fields]
    values = {}
    for key, field in fields.items():
        if key in table:
            try:
                values[field.name] = _convert(hints[field.name], table[key], (*loc, key))
            except ProblemsError as exc:
                problems += exc.problems
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            problems.append(((*loc, key), "required"))
    if problems:
        raise ProblemsError(problems)
    try:
        instance = cls(**values)
    except ValueError as exc:
        raise ProblemsError([(loc, str(exc))]) from None
    if not hasattr(cls, "__slots__"):
        object.__setattr__(instance, "_given", frozenset(values))
    return instance


def _dump(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin is Annotated:
        inner, *marks = typing.get_args(hint)
        parse = next((m for m in marks if isinstance(m, Parse)), None)
        return parse.write(value) if parse is not None else _dump(inner, value)
    if origin in (types.UnionType, typing.Union):
        for choice in typing.get_args(hint):
            if _is(choice, value):
                return _dump(choice, value)
        raise TypeError(f"{value!r} is none of {hint}")
    if origin is tuple:
        return [_dump(typing.get_args(hint)[0], item) for item in value]
    if origin is dict:
        return {key: _dump(typing.get_args(hint)[1], item) for key, item in value.items()}
    if dataclasses.is_dataclass(value):
        hints = _hints(type(value))
        return {
            _key(f): _dump(hints[f.name], getattr(value, f.name)) for f in dataclasses.fields(value) if f.init
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def _is(hint: Any, value: Any) -> bool:
    """Whether `value` is of the union member `hint` (for writing it back)."""
    if typing.get_origin(hint) is Annotated:
        hint = typing.get_args(hint)[0]
    origin = typing.get_origin(hint) or hint
    if origin is Literal:
        return value in typing.get_args(hint)
    return origin is Any or (isinstance(origin, type) and isinstance(value, origin))
