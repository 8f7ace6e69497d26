"""What crosses module boundaries: articles, passages, citations, answers, reports."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Literal

from pydantic import BaseModel, Field, computed_field

Precision = Literal["day", "week", "month", "year"]


class Article(BaseModel):
    """One news article as read from the archive.

    >>> Article(id="a1", title="T", text="Body.", published=dt.date(2024, 1, 21)).published_day
    '2024-01-21'
    """

    id: str
    url: str = ""
    title: str = ""
    published: dt.date | dt.datetime | None = None
    source: str = ""
    authors: list[str] = Field(default_factory=list)
    text: str

    @property
    def published_day(self) -> str | None:
        if self.published is None:
            return None
        day = self.published.date() if isinstance(self.published, dt.datetime) else self.published
        return day.isoformat()

    def content_hash(self) -> str:
        """Changes whenever anything we index about the article changes."""
        parts = [self.url, self.title, self.published_day or "", self.source, "\x1f".join(self.authors), self.text]
        return hashlib.sha1("\x1e".join(parts).encode("utf-8")).hexdigest()


class EventDate(BaseModel):
    """A date written in an article, resolved to the calendar against its publication day."""

    date: dt.date
    precision: Precision
    start: int
    end: int
    text: str


class Located(BaseModel):
    """Where a piece of text is: its article (with what a reader needs to find it) and its offsets there."""

    article_id: str
    url: str = ""
    title: str = ""
    source: str = ""
    published: str | None = None
    start: int
    end: int


class Copy(Located):
    """The same text in another article (a syndicated or republished copy): ``text == article.text[start:end]``."""

    #: The copy's text is identical to the result's, character for character (else nearly so).
    exact: bool = False


class Passage(Located):
    """A chunk of an article, as returned by search: ``text == article.text[start:end]``."""

    chunk_id: str
    text: str
    score: float = 0.0
    #: Dates this passage states, resolved at ingest; offsets index the article text.
    events: list[EventDate] = Field(default_factory=list)
    #: Other articles that carry this passage (near-)verbatim, collapsed into this result.
    copies: list[Copy] = Field(default_factory=list)

    def located(self) -> dict[str, str | int | None]:
        """The fields a ``Copy`` or ``Citation`` of this passage shares with it."""
        return self.model_dump(include=set(Located.model_fields))


class Citation(Located):
    """A verbatim quote: ``quote == article.text[start:end]``."""

    quote: str
    event_date: str | None = None
    #: The same sentence in other articles (syndicated copies), each verbatim at its own offsets.
    copies: list[Copy] = Field(default_factory=list)


class QuoteChecks(BaseModel):
    """What became of an LLM reader's quotes (``qa.llm``)."""

    quoted: int = 0
    #: Found word for word in their passage.
    verbatim: int = 0
    #: Not verbatim, replaced by the passage's sentence they nearly match.
    repaired: int = 0
    #: Found nowhere (or pointing at no passage): left out.
    dropped: int = 0
    #: Why the extractive answer was given instead, when it was.
    fallback: str | None = None


class Answer(BaseModel):
    question: str
    answer: str | None
    date: str | None = None
    precision: Precision | None = None
    confidence: float = 0.0
    citations: list[Citation] = Field(default_factory=list)
    message: str = ""
    #: Who wrote the answer: the extractive reader, or the LLM (its quotes verified; ``qa.llm``).
    reader: Literal["extractive", "llm"] = "extractive"
    #: With the LLM reader asked for: how its quotes were checked, and why it was not used if it was not.
    quote_checks: QuoteChecks | None = None
    #: Share of the archive's chunks that had their vectors when this was answered; the rest were
    #: found by their words only (an ingest still filling in vectors, see ``qa.pipeline``).
    embedded_share: float = 1.0


class TimelineEvent(BaseModel):
    date: str
    precision: Precision
    quote: str
    score: float
    citations: list[Citation]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sources(self) -> int:
        """Distinct sources that report this event, syndicated copies included (an article without a
        source name counts by its URL, else its id)."""
        located = [*self.citations, *(copy for c in self.citations for copy in c.copies)]
        return len({item.source or item.url or item.article_id for item in located})


class Timeline(BaseModel):
    query: str
    events: list[TimelineEvent]
    #: The day the timeline was drawn as of, when one was given: nothing published after it is used.
    as_of: str | None = None


class IngestError(BaseModel):
    """A record that could not be read: its file and line (text formats) or byte offset (WARC)."""

    path: str
    line: int | None
    reason: str
    offset: int | None = None

    def where(self) -> str:
        """``file:line``, ``file@offset`` or ``file``, as the error is reported."""
        if self.line is not None:
            return f"{self.path}:{self.line}"
        return f"{self.path}@{self.offset}" if self.offset is not None else self.path


class PassedOver(BaseModel):
    """A record read whole that is no article, by design (a redirect, an image, a page without
    article text): counted by reason, not an error."""

    path: str
    reason: str
    offset: int | None = None


class IngestReport(BaseModel):
    articles_added: int = 0
    articles_updated: int = 0
    articles_skipped: int = 0
    chunks: int = 0
    errors: list[IngestError] = Field(default_factory=list)
    #: Records that are not articles (WARC and feed input), counted by reason: ``{"redirect": 3}``.
    passed_over: dict[str, int] = Field(default_factory=dict)
    interrupted: bool = False
    #: Seconds until every article read was written and searchable by words and dates (with
    #: ``embed=False``, the lexical index made and saved too).
    read_seconds: float = 0.0
    #: Chunks given their vectors by this run (``qa.pipeline.VectorFill``), texts the encoder read
    #: for them (repeated texts are encoded once), chunks still without vectors afterwards, and
    #: the seconds that took.
    embedded: int = 0
    encoded: int = 0
    pending: int = 0
    embed_seconds: float = 0.0
    #: Event sentences encoded on their own once the chunks have vectors (``qa.event_vectors``),
    #: those still waiting, and the seconds that took.
    sentences: int = 0
    sentences_pending: int = 0
    sentence_seconds: float = 0.0


class Stats(BaseModel):
    articles: int
    chunks: int
    #: Chunks whose vectors are computed; the others are searched by their words only until the
    #: vector fill reaches them (``dateline ingest`` continues it).
    embedded: int
    #: The encoder the index was built with: model and precision.
    encoder: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def embedded_share(self) -> float:
        return round(self.embedded / self.chunks, 4) if self.chunks else 1.0
