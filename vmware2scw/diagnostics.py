"""Diagnostics: collected problems with severity, address and source position."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Severity(StrEnum):
    """How bad a diagnostic is; errors block apply."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class SourcePos(BaseModel):
    """A position in a config file (1-based line and column)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Diagnostic(BaseModel):
    """One problem: what is wrong (summary), why and what to do (detail)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    severity: Severity
    summary: str
    detail: str = ""
    address: str | None = None
    pos: SourcePos | None = None

    def __str__(self) -> str:
        where = f"{self.pos}: " if self.pos else ""
        who = f"{self.address}: " if self.address else ""
        tail = f"\n  {self.detail}" if self.detail else ""
        return f"{where}{self.severity.value}: {who}{self.summary}{tail}"


def error(summary: str, detail: str = "", *, address: str | None = None) -> Diagnostic:
    """Shorthand for an error diagnostic."""
    return Diagnostic(severity=Severity.ERROR, summary=summary, detail=detail, address=address)


def warning(summary: str, detail: str = "", *, address: str | None = None) -> Diagnostic:
    """Shorthand for a warning diagnostic."""
    return Diagnostic(severity=Severity.WARNING, summary=summary, detail=detail, address=address)


def info(summary: str, detail: str = "", *, address: str | None = None) -> Diagnostic:
    """Shorthand for an info diagnostic."""
    return Diagnostic(severity=Severity.INFO, summary=summary, detail=detail, address=address)


def has_errors(diags: list[Diagnostic] | tuple[Diagnostic, ...]) -> bool:
    """True when any diagnostic is an error."""
    return any(d.severity is Severity.ERROR for d in diags)
