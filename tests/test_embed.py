"""The encoder against sentence-transformers' own ``encode``, in each precision it runs in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.embed import Encoder
from qa.settings import Settings

TEXTS = [
    "Iran fired more than a dozen ballistic missiles at Ain al-Asad air base in western Iraq on January 8, 2020.",
    "Floods closed the port on Tuesday, officials said.",
    "  Who won the election?  ",
    "The central bank held its main rate at 4.5% for a third meeting, citing sticky services inflation "
    "and a labour market that has cooled less than expected since the spring.",
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    model = Encoder.shared(Settings().resolved_model_dir()).model
    return model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)


def test_float32_vectors_are_sentence_transformers_own(reference: np.ndarray) -> None:
    encoder = Encoder(Settings().resolved_model_dir(), precision="float32")
    assert np.allclose(encoder.encode(TEXTS), reference, atol=1e-5)


def test_bfloat16_vectors_point_the_same_way(reference: np.ndarray) -> None:
    encoder = Encoder(Settings().resolved_model_dir(), precision="bfloat16")
    vectors = encoder.encode(TEXTS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)  # normalized in float32
    assert (vectors * reference).sum(axis=1).min() > 0.9995
    assert not np.array_equal(vectors, reference)  # the products really ran in bfloat16


def test_auto_precision_follows_the_cpu() -> None:
    from qa.embed import native_bfloat16

    encoder = Encoder(Settings().resolved_model_dir())
    assert encoder.precision == ("bfloat16" if native_bfloat16() else "float32")


def _blas_threads_after_open(index: Path, setting: str) -> list[int]:
    """Thread counts of every BLAS library in a new process that opened an archive, then loaded scipy's own BLAS."""
    script = (
        "import json, scipy.linalg; from threadpoolctl import threadpool_info; "
        "print(json.dumps([i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']))"
    )
    opened = f"from qa import Archive; Archive.open({str(index)!r}); {script}"
    env = {**os.environ, "DATELINE_BLAS_THREADS": setting}
    env.pop("OPENBLAS_NUM_THREADS", None)
    done = subprocess.run([sys.executable, "-c", opened], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_opening_an_archive_keeps_blas_to_one_thread(tmp_path: Path) -> None:
    limited = _blas_threads_after_open(tmp_path / "index", "1")
    assert len(limited) >= 2 and set(limited) == {1}  # numpy's, loaded before, and scipy's, loaded after
    untouched = _blas_threads_after_open(tmp_path / "index", "0")
    assert max(untouched) == os.cpu_count() or os.cpu_count() == 1
