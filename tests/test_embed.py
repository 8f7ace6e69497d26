"""The encoder against sentence-transformers' own ``encode``, in each precision it runs in."""

from __future__ import annotations

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
