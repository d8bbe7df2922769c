"""Errors that carry the place in the user's workbook they are about.

User errors are collected as `Problem`s (workbook, sheet, cell, range name, message) so one run
reports many of them at once; `InputError` carries the list and formats it one line each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["MAX_REPORTED", "InputError", "ModelError", "Problem", "ProblemCollector", "XlvalueError",
           "remainder"]

MAX_REPORTED = 20  # problems listed one by one per column; the rest are counted


def remainder(shown: int, total: int, column: str, message: str, **where: str) -> list[Problem]:
    """The summary problem for the `total - shown` problems of a column not listed one by
    one (none when every one was listed)."""
    more = total - shown
    if more <= 0:
        return []
    return [Problem(f"{more:,} more row(s) where {message} ({total:,} in all in {column})",
                    count=more, column=column, **where)]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as we know."""

    message: str
    book: str = ""
    sheet: str = ""
    cell: str = ""
    name: str = ""
    count: int = 1  # >1: a summary standing for this many problems not listed one by one
    column: str = ""  # the input column the problem is about, when there is one

    def where(self) -> str:
        place = f"{self.sheet}!{self.cell}" if self.sheet and self.cell else self.sheet or self.cell
        parts = [p for p in (self.book, place) if p]
        loc = ": ".join(parts)
        if self.name:
            loc = f"{loc} ({self.name})" if loc else self.name
        return loc

    def __str__(self) -> str:
        loc = self.where()
        return f"{loc}: {self.message}" if loc else self.message


class XlvalueError(Exception):
    """Base class of every error xlvalue raises on purpose."""


class InputError(XlvalueError):
    """The user's input is wrong; carries one or more located problems."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self.summary())

    @property
    def total(self) -> int:
        """Every problem found, counting the ones summarised rather than listed."""
        return sum(p.count for p in self.problems)

    def summary(self, limit: int = MAX_REPORTED) -> str:
        """Up to `limit` problems listed per column (so 20 blank ids cannot hide every date
        and amount problem), then one line with the true number of the others, per column."""
        lines: list[str] = []
        shown: dict[str, int] = {}
        per: dict[str, int] = {}
        for p in self.problems:
            key = _column_key(p)
            if p.count == 1 and shown.get(key, 0) < limit:
                shown[key] = shown.get(key, 0) + 1
                lines.append(str(p))
            else:  # a count of problems not listed one by one, or one past the column's limit
                per[key] = per.get(key, 0) + p.count
        extra = sum(per.values())
        if extra > 0:
            detail = ", ".join(f"{k}: {v:,}" for k, v in per.items())
            lines.append(f"... and {extra:,} more problem(s) ({detail})")
        return "\n".join(lines)

    def brief(self) -> str:
        """The first problem and the true number of the others, per column, on one line:
        `... Amount 'x' is not a number (and 499 more (Amount: 499))`."""
        if not self.problems:
            return str(self)
        first, *rest = self.problems
        per: dict[str, int] = {}
        for p in rest:
            key = p.column or p.name or "other"
            per[key] = per.get(key, 0) + p.count
        more = sum(per.values())
        if more <= 0:
            return str(first)
        detail = ", ".join(f"{k}: {v:,}" for k, v in per.items())
        return f"{first} (and {more:,} more ({detail}))"


def _column_key(p: Problem) -> str:
    """Which list a problem belongs to: its range and column (or the range alone)."""
    return f"{p.name + ' ' if p.name else ''}{p.column}".strip() or "other"


class ModelError(XlvalueError):
    """A model cannot be fitted or evaluated on the data given (too few customers, ...)."""


@dataclass
class ProblemCollector:
    """Accumulates problems while validating, to raise them together."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def extend(self, problems: list[Problem]) -> None:
        self.problems.extend(problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(self.problems)

    def __bool__(self) -> bool:
        return bool(self.problems)
