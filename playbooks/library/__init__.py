"""The bundled plan library, drawn from the centre's work-flow rules (DESIGN.md §1)."""

from __future__ import annotations

from importlib import resources

from dutydesk.playbooks.plans import PlanSource


def bundled_sources() -> list[PlanSource]:
    folder = resources.files(__package__)
    return [
        PlanSource(f"<bundled>/{item.name}", item.read_text(encoding="utf-8"))
        for item in sorted(folder.iterdir(), key=lambda entry: entry.name)
        if item.name.endswith(".yaml")
    ]
