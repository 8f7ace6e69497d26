"""The errors Dateline raises: one small hierarchy, each with a message a person can act on."""

from __future__ import annotations


class DatelineError(Exception):
    """Base class of every error the library raises on purpose."""


class IndexNotFoundError(DatelineError):
    """The index folder (or server collection) does not exist yet."""


class ReaderError(DatelineError):
    """A path could not be read at all (missing, unreadable, unknown format)."""


class BadDateError(DatelineError, ValueError):
    """A date given by the caller could not be understood."""


class RecordError(DatelineError):
    """One record in an input file is malformed; carries where it is and why."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        super().__init__(f"{path}:{line if line is not None else '-'}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason
