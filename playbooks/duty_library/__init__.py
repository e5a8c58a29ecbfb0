"""The bundled routines and event plans, drawn from the centre's work-flow rules (DESIGN.md §1)."""

from __future__ import annotations

from importlib import resources

from dutydesk.playbooks.routines import Source


def _folder(name: str) -> list[Source]:
    folder = resources.files(__package__).joinpath(name)
    return [
        Source(f"<bundled>/{name}/{item.name}", item.read_text(encoding="utf-8"))
        for item in sorted(folder.iterdir(), key=lambda entry: entry.name)
        if item.name.endswith(".yaml")
    ]


def bundled_routines() -> list[Source]:
    return _folder("routines")


def bundled_event_plans() -> list[Source]:
    return _folder("events")
