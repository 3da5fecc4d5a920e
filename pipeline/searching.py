"""Search as `pulse search` and the web page run it: a Searcher over the archive, set up from pulse.toml.

Kept apart from `pipeline.app` (the night's wiring) so that a cold search imports only the store, the search
engine and the query encoder (bench/bench_cold_search.py)."""
from __future__ import annotations

from . import onnx_model
from .config import Paths, Settings
from .embed import Embedder, resolve_model
from .search import Filters, Results, Searcher, SearchError
from .store import Store


def make_embedder(settings: Settings, cpu_encoder: str | None = None) -> Embedder:
    return Embedder(model=settings.model, device=settings.device, batch_size=settings.batch_size, fp16=settings.fp16,
                    cpu_encoder=cpu_encoder or settings.cpu_encoder)


def make_searcher(store: Store, settings: Settings) -> Searcher:
    """A Searcher whose model loads on the first semantic query (keyword search loads none).

    On the CPU the query is embedded with one torch thread: hybrid search runs FTS5 on the other
    core meanwhile, and two thread pools on two cores slow each other (bench/RESULTS.md)."""
    cfg = {"min_cosine": 0.2, "depth": 50, "torch_threads": 1, "encoder": "auto", **settings.section_dict("search")}

    def encoder():
        if cfg["encoder"] != "torch":  # the ONNX twin: no torch to import for one vector
            model_id, model_path = resolve_model(settings.model)
            twin = onnx_model.load(model_id, model_path, threads=int(cfg["torch_threads"]))
            if twin is not None:
                return twin.model_id, twin.encode
            if cfg["encoder"] == "onnx":
                raise SearchError(f"[search] encoder = \"onnx\" but {model_id} has no ONNX twin yet: "
                                  "`pulse embed` exports it")
        embedder = make_embedder(settings, cpu_encoder="torch")
        if embedder.device == "cpu":
            import torch

            torch.set_num_threads(int(cfg["torch_threads"]))
        return embedder.model_id, embedder.encode
    return Searcher(store, encoder, min_cosine=float(cfg["min_cosine"]), depth=int(cfg["depth"]))


def require_archive(paths: Paths, sample: bool) -> None:
    """Search and the web page read an archive; without one, say how to make it."""
    if not paths.db_path.exists():
        raise SearchError(f"no archive at {paths.db_path} yet: run `pulse run{' --sample' if sample else ''}` first")


def search(paths: Paths, settings: Settings, query: str, *, mode: str, limit: int, filters: Filters) -> Results:
    with Store(paths.db_path) as store:
        return make_searcher(store, settings).search(query, mode=mode, limit=limit, filters=filters)
