"""Request and response bodies of the REST API. Answers, passages and articles are the library's own models."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from qa.models import Passage


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=1000, pattern=r"\S", description="A question in plain language.")
    as_of: dt.date | None = Field(
        None,
        description=(
            "Answer as of this day: nothing that happened after it. A when-question's day may come "
            "from a later report of it; add `until` for only what had been published by then."
        ),
    )
    since: dt.date | None = Field(None, description="Only articles published on or after this day.")
    until: dt.date | None = Field(None, description="Only articles published on or before this day.")
    sources: list[str] | None = Field(None, description="Only these sources.")
    k: int = Field(5, ge=1, le=20, description="Citations to return at most.")
    reader: Literal["extractive", "llm"] = Field(
        "extractive", description="Who writes the answer: the extractive reader, or the configured LLM (its quotes verified)."
    )


class SearchResults(BaseModel):
    results: list[Passage]


class ArticleBatch(BaseModel):
    """Articles as JSON objects (fields as in the JSONL format); each bad one is reported, the rest indexed."""

    articles: list[Any] = Field(max_length=1000)


class Health(BaseModel):
    status: str
    articles: int
    #: Whether an LLM reader is configured (``DATELINE_LLM_URL``): the page then offers it.
    llm: bool = False


class ErrorBody(BaseModel):
    detail: str
