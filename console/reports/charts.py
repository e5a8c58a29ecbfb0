"""What the reports' charts show, as plain data; `drawing.py` turns them into pictures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Span:
    """One obligation occurrence: allowed from `start` until `due`, met at `done` (minutes since
    the incident was received)."""

    row: int
    start: float
    due: float
    done: float | None
    late: bool  # met late, or the deadline passed unmet


@dataclass(frozen=True, slots=True)
class Timeline:
    """Obligations against their deadlines on a logarithmic time axis from the incident's receipt,
    so that minutes and working days fit on one picture."""

    rows: tuple[str, ...]
    spans: tuple[Span, ...]
    now: float  # minutes since received when the report was made: where an unmet breach ends
    ticks: tuple[tuple[float, str], ...]
    axis: str
    legend: tuple[str, str, str]  # allowed time, met in time, late


@dataclass(frozen=True, slots=True)
class Bars:
    """Horizontal bars, one per label; with a target, the bars short of it are red."""

    labels: tuple[str, ...]
    values: tuple[float, ...]
    axis: str
    target: float | None = None
    target_label: str = ""
    percent: bool = False


@dataclass(frozen=True, slots=True)
class Series:
    """A count per day."""

    days: tuple[date, ...]
    values: tuple[int, ...]
    axis: str
    dates: str  # the label under the dated axis


Chart = Timeline | Bars | Series
