"""Data files in YAML (plans, routines, event plans, drill scenarios) read into dataclasses
(`typeddata`), with every problem reported as `PATH:LINE: message`."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # PyYAML loads when a file is read: commands that read only the log start without it
    import yaml

from dutydesk.playbooks.typeddata import ProblemsError, dotted, read

M = TypeVar("M")


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


@functools.cache
def _unique_key_loader() -> type[yaml.SafeLoader]:
    import yaml  # noqa: PLC0415 - see TYPE_CHECKING

    class UniqueKeyLoader(yaml.SafeLoader):
        """A safe loader that notes every mapping with the same key twice (PyYAML keeps the last),
        so that one run reports them all beside the file's other problems."""

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

    return UniqueKeyLoader


def load_yaml(text: str, path: str) -> tuple[Any, yaml.Node | None, list[SourceError]]:
    """The data, its node tree (for lines) and the duplicate keys found; bad YAML raises."""
    import yaml  # noqa: PLC0415 - see TYPE_CHECKING

    try:
        loader = _unique_key_loader()(text)
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
    duplicates = getattr(loader, "duplicates", [])
    return data, root, [SourceError(path, line, message) for line, message in duplicates]


def line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int:
    """The 1-based line of the node at `loc`, or of the deepest ancestor that exists."""
    import yaml  # noqa: PLC0415 - see TYPE_CHECKING

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


def line_in(text: str, loc: Sequence[int | str]) -> int:
    """The line of `loc` in a YAML text that has been read before."""
    import yaml  # noqa: PLC0415 - see TYPE_CHECKING

    return line_of(yaml.compose(text, Loader=yaml.SafeLoader), loc)


def read_model(text: str, path: str, model: type[M], what: str) -> tuple[M, yaml.Node | None]:
    """Parse and validate one YAML mapping; returns the model and the node tree (for the lines of
    later checks). Raises SourceErrors listing every problem found."""
    data, root, duplicates = load_yaml(text, path)
    if not isinstance(data, dict):
        raise SourceErrors([SourceError(path, 1, f"a {what} file holds one mapping (id, title, ...)")])
    try:
        validated = read(model, data)
    except ProblemsError as exc:
        raise SourceErrors([*duplicates, *schema_errors(exc, path, root)]) from None
    if duplicates:
        raise SourceErrors(duplicates)
    return validated, root


def schema_errors(exc: ProblemsError, path: str, root: yaml.Node | None) -> list[SourceError]:
    """Each problem as `PATH:LINE: where: message`."""
    return [
        SourceError(path, line_of(root, loc), f"{dotted(loc)}: {message}" if loc else message)
        for loc, message in exc.problems
    ]
