"""The model's ONNX twin: the same vectors as the torch model, and a search that loads no torch."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline import onnx_model
from pipeline.cli import main

pytest.importorskip("onnxruntime")
ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def twin(embedder):
    """The bundled model's twin, exported into this session's cache (once: later calls find it ready)."""
    report = onnx_model.ensure(embedder)
    assert report["onnx_twin"] == "ready" or report["onnx_twin"].startswith("exported"), report
    return onnx_model.load(embedder.model_id, embedder.path)


def test_the_twin_gives_the_models_vectors_in_the_order_given(twin, archive, embedder):
    store = archive[0]
    texts = [f"{r['title']}\n\n{r['text']}" for r in store.db.query("SELECT title, text FROM stories LIMIT 150")]
    texts += ["", "x", "word " * 2000]  # empty, one letter, past the model's 256 tokens (truncated alike)
    want, got = embedder.encode(texts), twin.encode(texts)
    assert got.shape == want.shape and got.dtype == np.float32
    cosine = np.sum(want * got, axis=1)
    assert cosine.min() >= onnx_model.MIN_COSINE, (cosine.argmin(), cosine.min())
    assert np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    assert onnx_model.ensure(embedder) == {"onnx_twin": "ready"}


def test_a_model_of_another_shape_gets_no_twin_and_says_why(embedder, tmp_path):
    from sentence_transformers import SentenceTransformer, models

    cls = SentenceTransformer(modules=[embedder.st[0], models.Pooling(embedder.dimension, pooling_mode="cls")],
                              device="cpu")
    with pytest.raises(onnx_model.TwinError, match="not a mean-pooled transformer"):
        onnx_model.export(cls, "cls-model", str(tmp_path))
    assert not onnx_model.twin_dir("cls-model", str(tmp_path)).exists()


def test_a_damaged_twin_is_ignored(embedder, twin, tmp_path, monkeypatch):
    monkeypatch.setenv("PULSE_CACHE_DIR", str(tmp_path))
    folder = onnx_model.twin_dir(embedder.model_id, embedder.path)
    folder.mkdir(parents=True)
    for name in ("twin.json", "tokenizer.json", "check.json"):
        (folder / name).write_text("{}", "utf-8")
    (folder / "model.onnx").write_bytes(b"not a graph")
    assert onnx_model.load(embedder.model_id, embedder.path) is None


# what a cold search must not import: the model's stack, and what only a night or a source needs
HEAVY = ("torch", "sentence_transformers", "transformers", "outputs.brief_stage", "outputs.digest", "requests",
         "bs4", "feedparser")


def _cold_search(data_dir: str, *args: str) -> tuple[dict, list[str]]:
    """`pulse search` in a fresh interpreter: its JSON and which heavy modules it imported."""
    code = ("import json, sys\nfrom pipeline.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    code = exc.code\n"
            "print(json.dumps([m for m in HEAVY if m in sys.modules]))").replace("HEAVY", repr(HEAVY))
    out = subprocess.run([sys.executable, "-c", code, "--data-dir", data_dir, "search", *args, "--json"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT, env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    body, _, loaded = out.stdout.rstrip().rpartition("\n")
    return json.loads(body), json.loads(loaded)


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_a_cold_search_uses_the_twin_loads_no_torch_and_finds_what_torch_finds(twin, archive, mode):
    data_dir = str(Path(archive[0].path).parent)
    found, loaded = _cold_search(data_dir, "speech synthesis with voice cloning", "--mode", mode)
    assert loaded == []
    config = Path(data_dir) / "torch-config"
    config.mkdir(exist_ok=True)
    (config / "pulse.toml").write_text('[search]\nencoder = "torch"\n', "utf-8")
    with_torch = CliRunner().invoke(main, ["--config-dir", str(config), "--data-dir", data_dir, "search",
                                           "speech synthesis with voice cloning", "--mode", mode, "--json"])
    assert with_torch.exit_code == 0, with_torch.output
    want = json.loads(with_torch.output)
    assert [h["id"] for h in found["hits"]] == [h["id"] for h in want["hits"]]
    assert np.allclose([h["cosine"] for h in found["hits"]], [h["cosine"] for h in want["hits"]], atol=1e-3)


def test_encoder_onnx_without_a_twin_is_a_one_line_error(archive, tmp_path, monkeypatch):
    monkeypatch.setenv("PULSE_CACHE_DIR", str(tmp_path / "empty-cache"))
    (tmp_path / "pulse.toml").write_text('[search]\nencoder = "onnx"\n', "utf-8")
    out = CliRunner().invoke(main, ["--config-dir", str(tmp_path), "--data-dir", str(Path(archive[0].path).parent),
                                    "search", "anything", "--mode", "semantic"])
    assert out.exit_code == 2 and "no ONNX twin yet" in out.output and "Traceback" not in out.output


def test_the_cpu_embeds_with_the_int8_variant_within_its_bound(twin, archive, embedder):
    from pipeline.embed import Embedder

    store = archive[0]
    texts = [f"{r[0]}\n\n{r[1]}" for r in store.db.execute("SELECT title, text FROM stories LIMIT 40")]
    folder = onnx_model.twin_dir(embedder.model_id, embedder.path)
    assert "int8" not in onnx_model.ensure(embedder)["onnx_twin"]  # made on first use, not with every twin
    int8 = Embedder(device="cpu", cpu_encoder="int8")
    got, want = int8.encode(texts), embedder.encode(texts)
    assert (folder / onnx_model.INT8_FILE).exists()
    assert int8.encoder == "int8" and got.shape == want.shape and got.dtype == np.float32
    cosine = np.sum(got * want, axis=1)
    assert cosine.min() >= 0.99 and cosine.mean() < 0.99999  # close to the model's, and really quantised
    # a text's vector is the same whatever is encoded beside it (a rebuilt brief or digest is identical)
    assert np.array_equal(int8.encode(texts[5:6])[0], got[5]) and np.array_equal(int8.encode(texts[::-1])[::-1], got)
    check = json.loads((onnx_model.twin_dir(embedder.model_id, embedder.path) / "check.json").read_text())
    assert check["int8_min_cosine"] >= onnx_model.INT8_MIN_COSINE and 0 <= check["int8_fp32_layers"] < 6
    assert Embedder(device="cpu", cpu_encoder="onnx").encoder == "onnx"
    assert Embedder(device="cpu", cpu_encoder="torch").encoder == "torch"


def test_a_missing_int8_variant_falls_back_or_is_a_one_line_error(twin, embedder, tmp_path, monkeypatch):
    from pipeline.embed import EmbedError, Embedder

    folder = onnx_model.twin_dir(embedder.model_id, embedder.path)
    monkeypatch.setenv("PULSE_CACHE_DIR", str(tmp_path))
    copy = onnx_model.twin_dir(embedder.model_id, embedder.path)
    copy.mkdir(parents=True)
    for name in ("model.onnx", "tokenizer.json", "twin.json"):
        (copy / name).symlink_to(folder / name)
    check = json.loads((folder / "check.json").read_text())
    (copy / "check.json").write_text(json.dumps({k: v for k, v in check.items() if not k.startswith("int8")}
                                                | {"int8": "none: failed its check"}))  # not tried again
    assert Embedder(device="cpu", cpu_encoder="auto").encoder == "onnx"
    with pytest.raises(EmbedError, match="no such ONNX twin") as err:
        Embedder(device="cpu", cpu_encoder="int8").load()
    assert "\n" not in str(err.value)

