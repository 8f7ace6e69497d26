"""Shared fixtures: the real model, real Chroma indexes in temporary folders, the bundled corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import Archive, Article

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"
SEED = SHARED / "seed"
HEADLINE = "When was Ain al-Asad last hit by ballistic missiles?"


def needs_shared(path: Path) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not path.exists(), reason=f"{path} is absent (../shared is not beside the project)")


@pytest.fixture(scope="session")
def corpus_archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    """The bundled corpus, indexed once for the whole session (tests must not write to it)."""
    archive = Archive.open(tmp_path_factory.mktemp("corpus-index"))
    report = archive.ingest([CORPUS])
    assert not report.errors, report.errors
    return archive


@pytest.fixture
def empty_archive(tmp_path: Path) -> Archive:
    return Archive.open(tmp_path / "index")


def archive_of(tmp_path: Path, articles: list[Article]) -> Archive:
    """A new archive under ``tmp_path`` holding just ``articles``."""
    archive = Archive.open(tmp_path / "index")
    archive.ingest(articles)
    return archive
