"""The embedding model's ONNX twin: the same vectors from ONNX Runtime, without loading torch.

A cold `pulse search` spends seconds importing torch and sentence-transformers for one query vector; ONNX
Runtime and the Rust tokenizer load in a few hundred milliseconds. The twin is exported once from the torch
model (the transformer, mean pooling and L2 normalisation in one graph), checked against the torch vectors
on probe texts (cosine >= MIN_COSINE each, or it is not kept), and kept in Pulse's cache directory, keyed
by the model and its weights, so every archive on the machine shares it.

Beside it, made the first time a night asks for it, an int8 variant for embedding stories on the CPU
(`[pulse] cpu_encoder = "int8"`): ONNX Runtime's dynamic
quantisation (weights int8 per output channel, activations quantised on the fly, only the matrix products
with fixed weights), with as few of the first layers kept in fp32 as keep every probe within
INT8_MIN_COSINE of the model's vector. Quantising the first layer moves the vectors most (bench/RESULTS.md).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

MIN_COSINE = 0.999
INT8_MIN_COSINE = 0.993  # per probe: a margin over the 0.99 wanted of every real story (bench/RESULTS.md)
FORMAT = 2  # bumped when the exported graph changes: older twins are ignored (2: the int8 variant)
PROBES = (
    "speculative decoding",
    "Mistral releases a 7B model under Apache 2.0 that beats Llama 2 13B on every benchmark we ran.",
    "The EU AI Act: Parliament and Council reach a provisional agreement on foundation models.\n\n"
    + "Obligations scale with compute; open-source models get lighter rules unless systemic. " * 40,
    "日本語のテキストと émojis 🚀 — mixed scripts still tokenize",
)
# stories as newsletters write them (Pulse's own words): the int8 variant is checked on these too
STORY_PROBES = (
    "Quillstone raises $40M Series B\n\nThe vector database startup will hire 60 engineers and open an office "
    "in Berlin; the round was led by Northgate Capital. Revenue tripled last year, the company says.",
    "A tool that turns meeting recordings into action items - Drop an audio file, get a summary, owners and "
    "deadlines. Free for five hours a month, $12/month after.",
    "Researchers at a university trained a 1.3B-parameter model on synthetic textbooks and report it matches "
    "models ten times its size on coding benchmarks. The paper is on arXiv; weights are promised later.\n\n"
    + "The authors say data quality matters more than scale, and list what they filtered out. " * 12,
    "The regulator opened an inquiry into how chatbots answer questions about elections after a watchdog "
    "found made-up polling places in a third of replies.",
    "Tech Tales: The Lighthouse Keeper\n\nThe machine had kept the light for forty years, and in all that "
    "time nobody had asked it what it thought the sea was for.",
    "Why your evals lie to you: a thread on contamination, prompt sensitivity and what we do instead. "
    "Short version: hold out by date, not by random split.",
    "Open-weights image model ships with a permissive licence\n\nCheckpoints on Hugging Face, code on GitHub, "
    "a demo in the browser; it runs on a single 24 GB card at 4 images a second.",
    "An outage at a cloud provider took down several AI coding assistants for six hours on Tuesday; the "
    "post-mortem blames a configuration push.",
)
# the texts the int8 variant is checked on; export saves the model's vectors of them in this order
INT8_PROBES = (*PROBES, *STORY_PROBES)


class TwinError(RuntimeError):
    pass


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(os.environ.get("PULSE_CACHE_DIR") or user_cache_dir("pulse")).expanduser()


def twin_dir(model_id: str, model_path: str) -> Path:
    """Where the twin of this model (these weights) lives: a folder named by the model and a hash of its
    weight files' names, sizes and times."""
    weights = sorted(p for p in Path(model_path).glob("*") if p.suffix in (".safetensors", ".bin"))
    stamp = "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in weights)
    key = hashlib.sha1(f"{FORMAT}|{model_id}|{Path(model_path).resolve()}|{stamp}".encode()).hexdigest()[:12]
    return cache_dir() / "onnx" / f"{model_id.replace('/', '--')}-{key}"


def _mean_pooled(st: Any) -> bool:
    """Whether the SentenceTransformer is a transformer followed by mean pooling (and nothing else that
    changes the vector but normalisation): the only shape the twin reproduces."""
    names = [type(m).__name__ for m in st]
    pooling = next((m for m in st if type(m).__name__ == "Pooling"), None)
    mode = getattr(pooling, "pooling_mode", None) or getattr(pooling, "get_pooling_mode_str", lambda: "")()
    mode = mode if isinstance(mode, str) else ""  # sentence-transformers 6: pooling_mode; before: the method
    return names[:2] == ["Transformer", "Pooling"] and set(names[2:]) <= {"Normalize"} and mode == "mean"


def export(st: Any, model_id: str, model_path: str) -> Path:
    """Export `st` (a loaded SentenceTransformer) as the twin of (model_id, model_path) and check it; returns
    its folder. Raises TwinError when the model has another shape, the exporter is missing, or the vectors
    differ (nothing is kept then)."""
    import copy

    import torch

    if not _mean_pooled(st):
        raise TwinError(f"{model_id} is not a mean-pooled transformer; no ONNX twin")
    try:
        import onnx  # noqa: F401  (torch's exporter writes through it)
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise TwinError(f"cannot export an ONNX twin: {exc}") from None
    model = copy.deepcopy(st[0].auto_model).float().cpu().eval()

    class Pooled(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            weight = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weight).sum(1) / weight.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    dest = twin_dir(model_id, model_path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=dest.parent))
    try:
        ids = torch.ones(2, 8, dtype=torch.long)
        dynamic = {name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_type_ids")}
        import warnings

        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on indexing and tracing
            torch.onnx.export(Pooled(model), (ids, torch.ones_like(ids), torch.zeros_like(ids)),
                              str(work / "model.onnx"), input_names=list(dynamic), output_names=["embedding"],
                              dynamic_axes={**dynamic, "embedding": {0: "batch"}}, opset_version=17,
                              dynamo=False)
        (work / "tokenizer.json").write_text(st.tokenizer.backend_tokenizer.to_str(), "utf-8")
        want = st.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        (work / "twin.json").write_text(json.dumps({"model": model_id, "format": FORMAT, "dimension": want.shape[1],
                                                    "max_seq_length": int(st.max_seq_length)}), "utf-8")
        got = OnnxEncoder(work).encode(list(PROBES))
        worst = float(np.min(np.sum(want.astype(np.float32) * got, axis=1)))
        if worst < MIN_COSINE:
            raise TwinError(f"ONNX twin of {model_id} differs from the model (cosine {worst:.5f}); not kept")
        check: dict[str, Any] = {"min_cosine": worst, "probes": len(PROBES)}
        # the model's own vectors of the int8 probes, for quantising later: only a night that asks for int8 does
        vectors = st.encode(list(INT8_PROBES), normalize_embeddings=True, convert_to_numpy=True,
                            show_progress_bar=False)
        np.save(work / PROBE_FILE, vectors.astype(np.float32))
        (work / "check.json").write_text(json.dumps(check), "utf-8")
        if dest.exists():
            shutil.rmtree(dest)
        work.rename(dest)  # whole or not at all: a reader never sees half a twin
        return dest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _quantize(work: Path, want: np.ndarray, probes: Sequence[str]) -> dict[str, Any]:
    """Write the int8 variant (`model.int8.onnx`) of the graph in `work`, keeping the fewest first layers in fp32
    that keep every probe's vector within INT8_MIN_COSINE of `want` (the model's); what check.json records of it.
    Never raises: without the variant, the CPU embeds with the fp32 twin."""
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        layers: dict[int, list[str]] = {}
        for node in onnx.load(str(work / "model.onnx"), load_external_data=False).graph.node:
            number = re.search(r"layers?[._/](\d+)/", node.name)
            if node.op_type == "MatMul" and number:
                layers.setdefault(int(number.group(1)), []).append(node.name)
        if not layers:
            return {"int8": "none: no numbered transformer layers in the graph"}
        order = sorted(layers)
        worst = -1.0
        for kept in range(len(order) // 2 + 1):
            logging.disable(logging.WARNING)  # the quantiser's advice on pre-processing, on the root logger
            try:
                quantize_dynamic(work / "model.onnx", work / INT8_FILE, weight_type=QuantType.QInt8, per_channel=True,
                                 nodes_to_exclude=[n for i in order[:kept] for n in layers[i]],
                                 extra_options={"MatMulConstBOnly": True})
            finally:
                logging.disable(logging.NOTSET)
            got = OnnxEncoder(work, variant="int8").encode(list(probes))
            worst = float(np.min(np.sum(want * got, axis=1)))
            if worst >= INT8_MIN_COSINE:
                return {"int8_min_cosine": worst, "int8_fp32_layers": kept, "int8_probes": len(probes)}
        (work / INT8_FILE).unlink()
        return {"int8": f"none: int8 vectors differ from the model's (cosine {worst:.4f} with half the layers fp32)"}
    except Exception as exc:  # a quantiser that is missing or fails on this graph
        (work / INT8_FILE).unlink(missing_ok=True)
        return {"int8": f"none: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"}


def quantize(model_id: str, model_path: str) -> dict[str, Any]:
    """Make the int8 variant of an exported twin, once (the first night that asks for `cpu_encoder = "int8"`);
    what check.json then records of it. A twin whose variant failed its check is not tried again."""
    folder = twin_dir(model_id, model_path)
    check = json.loads((folder / "check.json").read_text("utf-8"))
    if (folder / INT8_FILE).exists() or "int8" in check:
        return check
    probes = list(INT8_PROBES)
    try:  # the model's vectors, saved at export; a twin from before them is its own reference (within 0.999)
        want = np.load(folder / PROBE_FILE)
    except OSError:
        want = OnnxEncoder(folder).encode(probes)
    work = Path(tempfile.mkdtemp(prefix=".int8-", dir=folder.parent))
    try:
        for name in ("model.onnx", "tokenizer.json", "twin.json"):
            (work / name).symlink_to(folder / name)
        check.update(_quantize(work, want, probes))
        if (work / INT8_FILE).exists():
            os.replace(work / INT8_FILE, folder / INT8_FILE)
        (work / "check.json").write_text(json.dumps(check), "utf-8")
        os.replace(work / "check.json", folder / "check.json")  # the variant first, then what is known of it
        return check
    finally:
        shutil.rmtree(work, ignore_errors=True)


INT8_FILE = "model.int8.onnx"
PROBE_FILE = "probes.npy"
VARIANTS = {"fp32": "model.onnx", "int8": INT8_FILE}


class OnnxEncoder:
    """Encode texts with a twin: tokenise (truncated as the model is), run, vectors already normalised.
    `variant`: "fp32" (the model's vectors) or "int8" (faster on the CPU, within INT8_MIN_COSINE)."""

    def __init__(self, folder: Path, threads: int = 1, batch_size: int = 16, variant: str = "fp32"):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((folder / "twin.json").read_text("utf-8"))
        self.model_id = meta["model"]
        self.dimension = int(meta["dimension"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(meta["max_seq_length"]))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(folder / VARIANTS[variant]), options,
                                            providers=["CPUExecutionProvider"])
        # int8 quantises each batch's activations with one scale for the whole batch, so a text's vector would
        # depend on the texts beside it: one text a run keeps it a function of the text alone (a rebuilt brief
        # or digest is then byte-identical), at some cost in throughput (bench/RESULTS.md)
        self.batch_size = 1 if variant == "int8" else batch_size
        self.variant = variant

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors in the order of `texts`; batches are cut from texts sorted by length (little padding)."""
        encoded = self.tokenizer.encode_batch(list(texts))
        out = np.zeros((len(texts), self.dimension), np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i].ids))
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            width = max(len(encoded[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), np.int64)
            mask = np.zeros((len(rows), width), np.int64)
            for r, i in enumerate(rows):
                n = len(encoded[i].ids)
                ids[r, :n] = encoded[i].ids
                mask[r, :n] = 1
            vectors = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                              "token_type_ids": np.zeros_like(ids)})[0]
            out[rows] = vectors
        return out


def load(model_id: str, model_path: str, threads: int = 1, variant: str = "fp32") -> OnnxEncoder | None:
    """The model's twin (its `variant`), if one was exported and checked (and ONNX Runtime is installed); else
    None."""
    folder = twin_dir(model_id, model_path)
    if not (folder / "check.json").exists() or not (folder / VARIANTS[variant]).exists():
        return None
    try:
        return OnnxEncoder(folder, threads, variant=variant)
    except Exception:  # a damaged twin or a missing runtime: the torch model still works
        return None


def ensure(embedder: Any) -> dict[str, Any]:
    """The run report's line on the twin of `embedder`'s model: exported now (loading the model if it was not
    loaded yet: once per machine and model), already there, or why there is none. Never raises."""
    folder = twin_dir(embedder.model_id, embedder.path)
    if (folder / "check.json").exists():
        return {"onnx_twin": "ready"}
    try:
        done = export(embedder.st, embedder.model_id, embedder.path)
    except Exception as exc:  # the torch model still serves every search; say why there is no twin
        return {"onnx_twin": f"none: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"}
    check = json.loads((done / "check.json").read_text("utf-8"))
    return {"onnx_twin": f"exported (min cosine {check['min_cosine']:.5f} on {check['probes']} probes)"}
