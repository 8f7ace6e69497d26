"""Dateline: answers over a news archive, dated by the events and cited to the exact passage.

>>> import qa
>>> archive = qa.Archive.open("indexes/demo")  # doctest: +SKIP
>>> archive.ask("When was Ain al-Asad last hit by ballistic missiles?").date  # doctest: +SKIP
'2024-01-20'
"""

from typing import TYPE_CHECKING, Any

from qa.errors import BadDateError, DatelineError, IndexNotFoundError, ReaderError
from qa.models import Answer, Article, Citation, EventDate, IngestError, IngestReport, Passage, Stats, Timeline, TimelineEvent
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.archive import Archive


def __getattr__(name: str) -> Any:
    """``qa.Archive`` is imported when first asked for: a process that only chunks
    (``qa.chunk_worker``) does not load Chroma and the rest."""
    if name == "Archive":
        from qa.archive import Archive

        return Archive
    raise AttributeError(f"module 'qa' has no attribute {name!r}")


__all__ = [
    "Answer",
    "Archive",
    "Article",
    "BadDateError",
    "Citation",
    "DatelineError",
    "EventDate",
    "IndexNotFoundError",
    "IngestError",
    "IngestReport",
    "Passage",
    "ReaderError",
    "Settings",
    "Stats",
    "Timeline",
    "TimelineEvent",
]
