"""Data files in YAML (plans, drill scenarios) read into validated models, with every problem
reported as `PATH:LINE: message`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class SourceError:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class SourceErrors(Exception):  # noqa: N818 - a list of SourceError
    def __init__(self, errors: Sequence[SourceError]) -> None:
        super().__init__("\n".join(map(str, errors)))
        self.errors = tuple(errors)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that notes every mapping with the same key twice (PyYAML keeps the last), so
    that one run reports them all beside the file's other problems."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, str]] = []  # (line, message)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                self.duplicates.append((key_node.start_mark.line + 1, f"duplicate key {key!r}"))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, path: str) -> tuple[Any, yaml.Node | None, list[SourceError]]:
    """The data, its node tree (for lines) and the duplicate keys found; bad YAML raises."""
    try:
        loader = _UniqueKeyLoader(text)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise SourceErrors([SourceError(path, line, f"bad YAML: {problem}")]) from None
    return data, root, [SourceError(path, line, message) for line, message in loader.duplicates]


def line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int:
    """The 1-based line of the node at `loc`, or of the deepest ancestor that exists."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    child = value_node
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def dotted(loc: Iterable[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def read_model(text: str, path: str, model: type[M], what: str) -> tuple[M, yaml.Node | None]:
    """Parse and validate one YAML mapping; returns the model and the node tree (for the lines of
    later checks). Raises SourceErrors listing every problem found."""
    data, root, duplicates = load_yaml(text, path)
    if not isinstance(data, dict):
        raise SourceErrors([SourceError(path, 1, f"a {what} file holds one mapping (id, title, ...)")])
    try:
        validated = model.model_validate(data)
    except ValidationError as exc:
        raise SourceErrors([*duplicates, *schema_errors(exc, path, root)]) from None
    if duplicates:
        raise SourceErrors(duplicates)
    return validated, root


def schema_errors(exc: ValidationError, path: str, root: yaml.Node | None) -> list[SourceError]:
    """Each of pydantic's complaints as `PATH:LINE: where: message`."""
    errors = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if isinstance(p, int | str)]
        message = err["msg"].removeprefix("Value error, ")
        where = dotted(loc)
        errors.append(SourceError(path, line_of(root, loc), f"{where}: {message}" if where else message))
    return errors
