"""The real text pool of `bench_scale.py` as one compact file, for machines that cannot reach the real archive.

    python bench/scale_pool.py ARCHIVE.db .bench-data/scale/pool.npz

The pool is the real archive's news stories (id, headline, text, section) and their vectors, what
`bench_scale.real_pool` reads. The file is an .npz holding the texts as LZMA-compressed JSON and the vectors
as int8 with one scale per row (cosine to the float32 vector >= 0.9999 on the real archive; checked when
it is written), about 6 MB for 12,497 stories where float32 vectors alone would take 19 MB: small enough to
travel with the working tree to the device machine (`--pool FILE`).
"""
from __future__ import annotations

import argparse
import json
import lzma
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

FIELDS = ("id", "title", "text", "section")


def save_pool(path: Path, rows: list[dict], vectors: np.ndarray) -> dict[str, float]:
    """Write rows and vectors (unit rows) to `path`; returns its size and the worst cosine of the stored vectors."""
    meta = lzma.compress(json.dumps([[r[k] for k in FIELDS] for r in rows], ensure_ascii=False).encode("utf-8"),
                         preset=9 | lzma.PRESET_EXTREME)
    scale = np.abs(vectors).max(axis=1) / 127.0
    q = np.round(vectors / scale[:, None]).astype(np.int8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, meta=np.frombuffer(meta, np.uint8), q=q, scale=scale.astype(np.float32))
    back = unquantise(q, scale)
    worst = float((back * vectors).sum(axis=1).min())
    return {"stories": len(rows), "bytes": path.stat().st_size, "worst cosine": worst}


def unquantise(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    v = q.astype(np.float32) * scale[:, None].astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def load_pool(path: Path) -> tuple[list[dict], np.ndarray]:
    """(rows, unit vectors) as `bench_scale.real_pool` returns them."""
    with np.load(path) as z:
        meta = json.loads(lzma.decompress(z["meta"].tobytes()).decode("utf-8"))
        vectors = unquantise(z["q"], z["scale"])
    return [dict(zip(FIELDS, r)) for r in meta], vectors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("real", type=Path, help="a real archive (real-archive's pulse.db)")
    ap.add_argument("out", type=Path, help="the pool file to write (.npz), e.g. .bench-data/scale/pool.npz")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_scale import real_pool

    rows, vectors = real_pool(args.real)
    info = save_pool(args.out, rows, vectors)
    again, _ = load_pool(args.out)
    assert again == rows, "the pool's texts did not come back as written"
    print(f"{args.out}: {info['stories']:,} stories, {info['bytes'] / 1e6:.1f} MB, "
          f"worst cosine of a stored vector {info['worst cosine']:.5f}")


if __name__ == "__main__":
    main()
