"""The encoder's engines side by side: which way of running the model encodes chunks fastest on this CPU.

    python bench/engines.py [--articles 40] [--chunks 320] [--repeat 3] [--json]

Chunks the first archive articles as ingest does, tokenizes them once, and runs the same batches
(``Encoder.batches``: 8 texts, longest first, padded to a multiple of 32 word pieces) through
each engine that is installed, in turns, ``--repeat`` times:

- torch float32, torch bfloat16 (autocast; emulated where the CPU lacks it), torch int8 (dynamic
  quantization of the linear layers: ``DATELINE_ENCODER_PRECISION=int8``), which Dateline has;
- ONNX Runtime float32 and int8 (dynamic quantization), on the model exported to ONNX here;
- OpenVINO on the same ONNX file, with float32 asked for, and with its own default (bfloat16 on
  CPUs with AVX-512 BF16 or AMX, float32 elsewhere).

Prints each engine's median chunks/s, its ratio to torch float32 and to the engine Dateline
picks for this CPU (``auto``), all from the same process, and how far each engine's chunk vectors
(mean-pooled, unit length, as the index keeps them) are from torch float32's (cosine, median and
least). Writes bench/results/engines-*.json. The CPU flags that matter are printed with them.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from encode_batch import archive_chunks, chunks_parser  # noqa: E402
from results_file import ARCHIVE, save  # noqa: E402

from qa.embed import Encoder, native_bfloat16  # noqa: E402
from qa.settings import Settings  # noqa: E402

Batch = tuple[np.ndarray, np.ndarray, np.ndarray]  # word-piece ids, attention mask, token types
Engine = Callable[[Batch], np.ndarray]  # a batch -> its word pieces' vectors (batch, width, 384)
FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8")


def cpu_flags() -> str:
    """The flags of this CPU that decide which engine is fastest."""
    try:
        present = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return ""
    return " ".join(flag for flag in FLAGS if flag in present)


def batches(encoder: Encoder, texts: list[str]) -> list[Batch]:
    """The batches ``Encoder`` runs (``Encoder.batches``), with their token types."""
    ids = encoder.tokenizer(texts, truncation=True, max_length=encoder.model.max_seq_length, verbose=False)["input_ids"]
    return [(input_ids, mask, np.zeros_like(input_ids)) for _, input_ids, mask in encoder.batches(ids)]


def pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the text's word pieces, unit length: the model's sentence vector."""
    weights = mask[..., None].astype(np.float32)
    vectors = (hidden.astype(np.float32) * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def torch_engine(model, bfloat16: bool) -> Engine:  # type: ignore[no-untyped-def]
    import torch

    def run(batch: Batch) -> np.ndarray:
        input_ids, mask, types = (torch.from_numpy(a) for a in batch)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            out = model(input_ids=input_ids, attention_mask=mask, token_type_ids=types)
        return out.last_hidden_state.float().numpy()

    return run


def export_onnx(model, folder: Path, sample: Batch) -> Path:  # type: ignore[no-untyped-def]
    """The transformer as an ONNX graph with any batch size and width."""
    import torch

    class Wrapped(torch.nn.Module):  # positional inputs, one output
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    path = folder / "model.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "width"} for name in names} | {"last_hidden_state": {0: "batch", 1: "width"}}
    with torch.inference_mode():
        torch.onnx.export(
            Wrapped(),
            tuple(torch.from_numpy(a) for a in sample),
            str(path),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    return path


def onnxruntime_engine(path: Path, threads: int) -> Engine:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(batch: Batch) -> np.ndarray:
        input_ids, mask, types = batch
        return session.run(None, {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": types})[0]

    return run


def openvino_engine(path: Path, precision: str | None) -> tuple[Engine, str]:
    import openvino

    core = openvino.Core()
    config = {"PERFORMANCE_HINT": "LATENCY"}
    if precision:
        config["INFERENCE_PRECISION_HINT"] = precision
    compiled = core.compile_model(str(path), "CPU", config)
    request = compiled.create_infer_request()
    chosen = str(compiled.get_property("INFERENCE_PRECISION_HINT"))

    def run(batch: Batch) -> np.ndarray:
        input_ids, mask, types = batch
        result = request.infer({"input_ids": input_ids, "attention_mask": mask, "token_type_ids": types})
        return next(iter(result.values())).copy()

    return run, chosen


def engines(encoder: Encoder, folder: Path, sample: Batch) -> dict[str, Engine]:
    """Every engine this environment can run, by name."""
    import torch

    model = encoder.model[0].auto_model.eval()
    found: dict[str, Engine] = {"torch float32": torch_engine(model, False), "torch bfloat16": torch_engine(model, True)}
    found["torch int8"] = torch_engine(Encoder(encoder.model_dir, precision="int8").model[0].auto_model.eval(), False)
    try:
        # Exported from a model of its own: tracing leaves the traced model giving other vectors after.
        path = export_onnx(Encoder(encoder.model_dir, precision="float32").model[0].auto_model.eval(), folder, sample)
    except ImportError:
        print("onnx is not installed (pip install -e '.[bench]'): ONNX Runtime and OpenVINO skipped", file=sys.stderr)
        return found
    try:
        found["onnxruntime float32"] = onnxruntime_engine(path, torch.get_num_threads())
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantized = folder / "model-int8.onnx"
        quantize_dynamic(str(path), str(quantized), weight_type=QuantType.QInt8)
        found["onnxruntime int8"] = onnxruntime_engine(quantized, torch.get_num_threads())
    except ImportError:
        print("onnxruntime is not installed: skipped", file=sys.stderr)
    try:
        found["openvino float32"], _ = openvino_engine(path, "f32")
        run, chosen = openvino_engine(path, None)
        found[f"openvino default ({chosen})"] = run
    except ImportError:
        print("openvino is not installed: skipped", file=sys.stderr)
    return found


def main() -> int:
    args = chunks_parser(__doc__.splitlines()[0]).parse_args()
    if not ARCHIVE.exists():
        print(f"needs {ARCHIVE} (../shared/data beside the project)", file=sys.stderr)
        return 2
    settings = Settings()
    encoder = Encoder(settings.resolved_model_dir(), settings.encode_batch_size, precision="float32")
    texts = archive_chunks(encoder, settings, args.articles, args.chunks)
    work = batches(encoder, texts)
    with tempfile.TemporaryDirectory() as folder:
        found = engines(encoder, Path(folder), work[0])
        outputs: dict[str, np.ndarray] = {}
        for run in found.values():  # warm-up: the first pass sets up kernels
            run(work[0])
        rates: dict[str, list[float]] = {name: [] for name in found}
        for _ in range(args.repeat):
            for name, run in found.items():
                started = time.perf_counter()
                vectors = [pooled(run(batch), batch[1]) for batch in work]
                rates[name].append(len(texts) / (time.perf_counter() - started))
                outputs[name] = np.concatenate(vectors)
    auto = "torch bfloat16" if native_bfloat16() else "torch float32"
    medians = {name: statistics.median(values) for name, values in rates.items()}
    reference = outputs["torch float32"]
    result = {
        "cpu_flags": cpu_flags(),
        "chunks": len(texts),
        "batch_size": settings.encode_batch_size,
        "repeat": args.repeat,
        "auto": auto,
        "engines": {
            name: {
                "chunks_per_s": round(medians[name], 1),
                "vs_float32": round(medians[name] / medians["torch float32"], 3),
                "vs_auto": round(medians[name] / medians[auto], 3),
                "cosine_to_float32_median": round(float(np.median((outputs[name] * reference).sum(axis=1))), 6),
                "cosine_to_float32_min": round(float((outputs[name] * reference).sum(axis=1).min()), 6),
            }
            for name in found
        },
    }
    print(f"{len(texts)} chunks, batch {settings.encode_batch_size}, median of {args.repeat} rounds in turns; CPU: {result['cpu_flags']}")
    print(f"{'engine':<32} {'chunks/s':>9} {'vs fp32':>8} {'vs auto':>8} {'cos med':>9} {'cos min':>9}")
    for name, row in result["engines"].items():
        print(
            f"{name:<32} {row['chunks_per_s']:>9.1f} {row['vs_float32']:>8.3f} {row['vs_auto']:>8.3f} "
            f"{row['cosine_to_float32_median']:>9.6f} {row['cosine_to_float32_min']:>9.6f}"
        )
    save("engines", result)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
