"""Errors that carry the place in the user's workbook they are about.

User errors are collected as `Problem`s (workbook, sheet, cell, range name, message) so one run
reports many of them at once; `InputError` carries the list and formats it one line each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["MAX_REPORTED", "InputError", "ModelError", "Problem", "ProblemCollector", "XlvalueError"]

MAX_REPORTED = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as we know."""

    message: str
    book: str = ""
    sheet: str = ""
    cell: str = ""
    name: str = ""

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

    def summary(self, limit: int = MAX_REPORTED) -> str:
        lines = [str(p) for p in self.problems[:limit]]
        extra = len(self.problems) - limit
        if extra > 0:
            lines.append(f"... and {extra} more problem(s)")
        return "\n".join(lines)


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
