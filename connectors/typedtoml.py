"""Typed TOML: a configuration file read into frozen dataclasses, every value checked against the
type and the limits declared on its field, every problem named by its key (`mqtt.port: ...`).

Why not pydantic here: importing it and building the settings' models took a third of every
command's start (issue 12), and the settings need only what is below. What a value may be:

| declared | accepted from TOML |
|---|---|
| `str`, `bool`, `int`, `float` | that type (an integer is also a float; a boolean is never a number) |
| `Path`, `Secret` | a string |
| `date`, `time` | a TOML date or time, or an ISO string (`2026-10-01`, `17:30`) |
| `timedelta` | a number of seconds |
| `Literal[...]` | one of the values |
| `tuple[X, ...]`, `dict[str, X]` | an array, a table |
| a dataclass | a table; keys it does not declare are refused |
| `Annotated[X, Check(...)]` | X within the check's limits |

A dataclass's `__post_init__` may raise ValueError for rules across its fields; the message is
reported at the table's key.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

T = TypeVar("T")


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
    le: float | None = None
    pattern: str | None = None
    min_length: int | None = None
    valid: Callable[[Any], Any] | None = None  # raises ValueError with the reason

    def __call__(self, value: Any) -> Any:
        if self.ge is not None and value < self.ge:
            raise ValueError(f"must be at least {self.ge}")
        if self.gt is not None and value <= self.gt:
            raise ValueError(f"must be more than {self.gt}")
        if self.le is not None and value > self.le:
            raise ValueError(f"must be at most {self.le}")
        if self.pattern is not None and not re.search(self.pattern, value):
            raise ValueError(f"{value!r} does not match {self.pattern}")
        if self.min_length is not None and len(value) < self.min_length:
            raise ValueError(f"needs at least {self.min_length} item(s)")
        return self.valid(value) if self.valid is not None else value


class ProblemsError(Exception):
    """What is wrong, as (key, message) pairs; the key is dotted (`feeds.0.name`), "" for the top."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(problems)
        self.problems = problems


def read(cls: type[T], data: Any) -> T:
    """`data` (as tomllib reads it) as an instance of the dataclass `cls`; ProblemsError if it is not one."""
    return typing.cast(T, _convert(cls, data, ""))


def given(section: object) -> frozenset[str]:
    """The keys the file gave for this table (the others took their defaults)."""
    return typing.cast(frozenset[str], getattr(section, "_given", frozenset()))


def documentation(cls: type) -> dict[str, str]:
    """Each field's docstring (the string literal under it), for the reference and its test."""
    import ast  # noqa: PLC0415 - only the documentation and its test read the source
    import inspect  # noqa: PLC0415
    import textwrap  # noqa: PLC0415

    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    assert isinstance(body, ast.ClassDef)
    docs = {}
    for statement, following in zip(body.body, body.body[1:], strict=False):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.target.id] = following.value.value
    return docs


def sections(cls: type) -> Iterator[type]:
    """`cls` and every dataclass its fields hold, once each."""
    seen: list[type] = []

    def walk(hint: Any) -> None:
        if dataclasses.is_dataclass(hint) and isinstance(hint, type) and hint not in seen:
            seen.append(hint)
            for field_hint in _hints(hint).values():
                walk(field_hint)
        for arg in typing.get_args(hint):
            walk(arg)

    walk(cls)
    return iter(seen)


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls, include_extras=True)
    return hints


_HINTS: dict[type, dict[str, Any]] = {}


def _at(key: str, part: str | int) -> str:
    return f"{key}.{part}" if key else str(part)


def _convert(hint: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is Annotated:
        inner, *checks = typing.get_args(hint)
        result = _convert(inner, value, key)
        try:
            for check in checks:
                result = check(result)
        except ValueError as exc:
            raise ProblemsError([(key, str(exc))]) from None
        return result
    if origin in (types.UnionType, typing.Union):
        return _union(typing.get_args(hint), value, key)
    if origin is Literal:
        if value in typing.get_args(hint) and not isinstance(value, bool):
            return value
        choices = " or ".join(repr(a) for a in typing.get_args(hint))
        raise ProblemsError([(key, f"should be {choices}, not {value!r}")])
    if origin is tuple:
        return tuple(_items(typing.get_args(hint)[0], _expect(list, value, key, "an array"), key))
    if origin is dict:
        table = _expect(dict, value, key, "a table")
        inner = typing.get_args(hint)[1]
        problems, result = [], {}
        for name, item in table.items():
            try:
                result[name] = _convert(inner, item, _at(key, name))
            except ProblemsError as exc:
                problems += exc.problems
        if problems:
            raise ProblemsError(problems)
        return result
    if dataclasses.is_dataclass(hint):
        return _table(typing.cast(type, hint), _expect(dict, value, key, "a table"), key)
    if hint is Any:
        return value
    return _scalar(hint, value, key)


def _union(choices: tuple[Any, ...], value: Any, key: str) -> Any:
    last: ProblemsError | None = None
    for choice in choices:
        if choice is type(None):
            continue
        try:
            return _convert(choice, value, key)
        except ProblemsError as exc:
            last = exc
    assert last is not None
    raise last


def _items(hint: Any, values: list[Any], key: str) -> Iterator[Any]:
    problems = []
    converted = []
    for index, item in enumerate(values):
        try:
            converted.append(_convert(hint, item, _at(key, index)))
        except ProblemsError as exc:
            problems += exc.problems
    if problems:
        raise ProblemsError(problems)
    return iter(converted)


def _expect(kind: type[T], value: Any, key: str, what: str) -> T:
    if not isinstance(value, kind):
        raise ProblemsError([(key, f"should be {what}, not {value!r}")])
    return value


def _scalar(hint: Any, value: Any, key: str) -> Any:
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
        [(key, f"should be {_NAMES.get(hint, getattr(hint, '__name__', hint))}, not {value!r}")]
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


def _table(cls: type, table: dict[str, Any], key: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = _hints(cls)
    problems = [(_at(key, name), "unknown key") for name in table if name not in fields]
    values = {}
    for name, field in fields.items():
        if name in table:
            try:
                values[name] = _convert(hints[name], table[name], _at(key, name))
            except ProblemsError as exc:
                problems += exc.problems
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            problems.append((_at(key, name), "required"))
    if problems:
        raise ProblemsError(problems)
    try:
        instance = cls(**values)
    except ValueError as exc:
        raise ProblemsError([(key, str(exc))]) from None
    object.__setattr__(instance, "_given", frozenset(values))
    return instance
