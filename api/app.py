"""The FastAPI app: REST routes under ``/v1`` and the chat page at ``/``, over one ``qa.Archive``.

>>> app = create_app(Archive.open("indexes/demo"))  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from api.schemas import ArticleBatch, AskRequest, ErrorBody, Health, SearchResults
from qa import Answer, Archive, Article, DatelineError, IndexNotFoundError, IngestReport, Passage, Settings, Stats, Timeline
from qa.errors import BadDateError
from qa.ingest import read_records
from qa.llm import Token

STATIC = Path(__file__).resolve().parent / "static"
ERRORS = {400: {"model": ErrorBody}, 401: {"model": ErrorBody}, 413: {"model": ErrorBody}, 422: {"model": ErrorBody}}


def get_archive(request: Request) -> Archive:
    return request.app.state.archive


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def require_key(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> None:
    """With ``DATELINE_API_KEY`` set, the ``X-API-Key`` header must carry it."""
    if settings.api_key and not secrets.compare_digest(request.headers.get("x-api-key", ""), settings.api_key):
        raise HTTPException(401, "missing or wrong API key: send it in the X-API-Key header")


ArchiveDep = Annotated[Archive, Depends(get_archive)]
QueryText = Annotated[str, Query(min_length=1, max_length=1000, pattern=r"\S", description="What to look for.")]


#: What the schema's ``\S`` pattern (Unicode White_Space, as pydantic's regex engine reads it) calls
#: white space. ``str.strip()`` also strips control characters such as U+001E, which the schema
#: admits as text, so a question of those would pass the schema and then be refused as empty.
UNICODE_WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"


def _query_text(settings: Settings, text: str, name: str) -> str:
    text = text.strip(UNICODE_WHITE_SPACE)
    if not text:
        raise HTTPException(422, f"'{name}' is empty")
    if len(text) > settings.max_question_chars:
        raise HTTPException(413, f"'{name}' is longer than {settings.max_question_chars} characters")
    return text


router = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], responses=ERRORS)


@router.post("/ask", response_model=Answer, summary="Answer a question with dated, verbatim citations")
def ask(body: AskRequest, archive: ArchiveDep, settings: Annotated[Settings, Depends(get_settings)]) -> Answer:
    question = _query_text(settings, body.question, "question")
    return archive.ask(question, as_of=body.as_of, since=body.since, until=body.until, source=body.sources, k=body.k, reader=body.reader)


@router.post(
    "/ask/stream",
    summary="Answer as server-sent events: `passage` events, best first, `token` events (LLM reader), then `answer`, then `done`",
    responses={200: {"content": {"text/event-stream": {}}}},
)
def ask_stream(body: AskRequest, archive: ArchiveDep, settings: Annotated[Settings, Depends(get_settings)]) -> StreamingResponse:
    question = _query_text(settings, body.question, "question")
    steps = archive.ask_stream(
        question, as_of=body.as_of, since=body.since, until=body.until, source=body.sources, k=body.k, reader=body.reader
    )

    def events() -> Iterator[str]:
        try:
            for step in steps:
                kind = "answer" if isinstance(step, Answer) else "token" if isinstance(step, Token) else "passage"
                yield f"event: {kind}\ndata: {step.model_dump_json()}\n\n"
        except DatelineError as exc:
            yield f"event: error\ndata: {json.dumps({'detail': str(exc)})}\n\n"
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.get("/search", response_model=SearchResults, summary="Passages that match a query")
def search(
    archive: ArchiveDep,
    settings: Annotated[Settings, Depends(get_settings)],
    q: QueryText,
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    since: dt.date | None = None,
    until: dt.date | None = None,
    as_of: dt.date | None = None,
    source: Annotated[list[str] | None, Query()] = None,
) -> SearchResults:
    query = _query_text(settings, q, "q")
    return SearchResults(results=archive.search(query, k, since=since, until=until, as_of=as_of, source=source))


@router.get("/timeline", response_model=Timeline, summary="Dated events that match a query, oldest first")
def timeline(
    archive: ArchiveDep,
    settings: Annotated[Settings, Depends(get_settings)],
    q: QueryText,
    since: dt.date | None = None,
    until: dt.date | None = None,
    as_of: dt.date | None = None,
    source: Annotated[list[str] | None, Query()] = None,
) -> Timeline:
    return archive.timeline(_query_text(settings, q, "q"), since=since, until=until, as_of=as_of, source=source)


@router.get(
    "/articles/{article_id}", response_model=Article, summary="One article with its full text", responses={404: {"model": ErrorBody}}
)
def article(article_id: str, archive: ArchiveDep) -> Article:
    found = archive.article(article_id)
    if found is None:
        raise HTTPException(404, f"no article with id {article_id!r}")
    return found


@router.post("/articles", response_model=IngestReport, summary="Index a batch of articles given as JSON objects")
def ingest(batch: ArticleBatch, archive: ArchiveDep) -> IngestReport:
    return archive.ingest_records(read_records(batch.articles, origin="request"))


@router.get("/stats", response_model=Stats, summary="How many articles and chunks the index holds")
def stats(archive: ArchiveDep) -> Stats:
    return archive.stats()


def create_app(archive: Archive | None = None, settings: Settings | None = None, *, fill: bool = False) -> FastAPI:
    """Build the app around one archive (opened from ``settings`` when not given). With ``fill``,
    chunks still without vectors get them in the background while the app answers
    (``Archive.embed_in_background``); ``/v1/stats`` shows how far it is."""
    settings = settings or (archive.settings if archive else Settings())
    if archive is None:
        archive = Archive.open(settings=settings, create=False)
    served = archive

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.fill = served.embed_in_background() if fill and served.store.pending_count() else None
        yield
        if app.state.fill is not None:
            await asyncio.to_thread(app.state.fill.stop, 60)  # after the batch in hand: nothing half-written

    app = FastAPI(
        title="Dateline",
        version="0.1.0",
        description="Answers over a news archive, dated by the event and cited verbatim.",
        lifespan=lifespan,
    )
    app.state.archive = archive
    app.state.settings = settings
    # The app's settings decide the LLM reader the archive answers with (reader="llm").
    llm = {name: getattr(settings, name) for name in ("llm_url", "llm_model", "llm_api_key", "llm_timeout", "llm_max_tokens")}
    if any(getattr(archive.settings, name) != value for name, value in llm.items()):
        archive.settings = archive.settings.model_copy(update=llm)

    @app.middleware("http")
    async def limit_body(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_body_bytes:
            return JSONResponse({"detail": f"request body over {settings.max_body_bytes} bytes"}, status_code=413)
        return await call_next(request)

    @app.exception_handler(BadDateError)
    async def bad_date(request: Request, exc: BadDateError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(IndexNotFoundError)
    async def no_index(request: Request, exc: IndexNotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(DatelineError)
    async def dateline_error(request: Request, exc: DatelineError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    if settings.cors_origins:
        origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
        app.add_middleware(
            CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"], allow_headers=["X-API-Key", "Content-Type"]
        )

    @app.get("/healthz", response_model=Health, summary="Liveness and index size")
    def healthz() -> Health:
        return Health(status="ok", articles=archive.article_count(), llm=bool(settings.llm_url))

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


__all__ = ["Passage", "create_app"]
