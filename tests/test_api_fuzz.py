"""schemathesis against the app's own OpenAPI schema: no 5xx, responses match the schema."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from api import create_app
from qa import Archive


def test_every_operation_survives_generated_requests(empty_archive: Archive) -> None:
    # A small archive of its own: generated POST /v1/articles bodies are indexed into it.
    empty_archive.ingest([a for a in _few_articles()])
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(empty_archive))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate()

        check()


def _few_articles():  # type: ignore[no-untyped-def]
    from qa.ingest import read_paths
    from tests.conftest import CORPUS

    return [a for a in read_paths([CORPUS / "world"])][:5]
