"""`pulse doctor`: is this install able to run tonight? Each check says ok, warn or fail, and why."""
from __future__ import annotations

import shutil
import sqlite3
import time
from dataclasses import dataclass

from filelock import FileLock, Timeout

from .config import Paths, Settings
from .nightly import lock_path

MIN_FREE = 1 << 30  # warn below 1 GiB free for the database and digests


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str


def _database(paths: Paths, settings: Settings) -> Check:
    from .store import SCHEMA_VERSION, Store

    try:
        with Store(paths.db_path, timeout=min(settings.db_timeout, 5.0)) as store:
            quick = store.quick_check()
            store.check_writable()  # can we take the write lock? (then give it back)
            counts = store.counts()
        if quick != "ok":
            return Check("database", "fail", f"{paths.db_path}: {quick}")
        return Check("database", "ok", f"{paths.db_path} writable, schema v{SCHEMA_VERSION}, "
                                       f"{counts['issues']} issues, {counts['stories']} stories")
    except (sqlite3.Error, OSError) as exc:
        return Check("database", "fail", f"{paths.db_path}: {exc}")


def _disk(paths: Paths) -> Check:
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(paths.data_dir).free
    status = "ok" if free >= MIN_FREE else "warn"
    return Check("disk", status, f"{free / 2**30:.1f} GiB free in {paths.data_dir}")


def _lock(paths: Paths) -> Check:
    lock = FileLock(str(lock_path(paths.data_dir)), timeout=0)
    try:
        lock.acquire()
        lock.release()
        return Check("lock", "ok", "no run is going")
    except Timeout:
        return Check("lock", "warn", f"a run is going now ({lock_path(paths.data_dir)} is held)")


def _model(settings: Settings) -> Check:
    from .embed import Embedder

    try:
        t = time.perf_counter()
        embedder = Embedder(model=settings.model, device=settings.device).load()
        vec = embedder.encode(["Pulse checks that its model loads."])
        ms = (time.perf_counter() - t) * 1000
        return Check("model", "ok", f"{embedder.model_id} on {embedder.device}, dimension {vec.shape[1]}, "
                                    f"loaded and used in {ms:.0f} ms")
    except Exception as exc:
        return Check("model", "fail", str(exc).splitlines()[0])


def _gpu() -> Check:
    import torch

    from gpu import cupy_available

    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        cupy = "CuPy kernels available" if cupy_available() else "CuPy missing: install the [gpu] extra"
        return Check("gpu", "ok" if cupy_available() else "warn", f"{name}; {cupy}")
    return Check("gpu", "ok", "no GPU: embedding and similarity run on the CPU (NumPy path)")


def _sources(paths: Paths, settings: Settings, sample: bool) -> list[Check]:
    from sources.config import load_sources
    from sources.fetch import Fetcher, FetchPolicy

    from .samples import sample_sources

    configs = sample_sources() if sample else load_sources(paths.sources_file)
    fetcher = Fetcher(FetchPolicy(read_timeout=min(settings.fetch_timeout, 10.0), deadline=20.0, retries=0,
                                  max_bytes=settings.fetch_max_bytes, host_delay=0.0))
    out = []
    for cfg in configs:
        try:
            t = time.perf_counter()
            result = fetcher.get(cfg.url, local_ok=True)
            out.append(Check(f"source {cfg.name}", "ok",
                             f"{cfg.url} answered {result.status} in {(time.perf_counter() - t) * 1000:.0f} ms"))
        except Exception as exc:
            out.append(Check(f"source {cfg.name}", "warn", f"{cfg.url}: {str(exc).splitlines()[0]}"))
    return out


def run_checks(paths: Paths, settings: Settings, *, sample: bool = False, offline: bool = False) -> list[Check]:
    checks = [_disk(paths), _database(paths, settings), _lock(paths), _model(settings), _gpu()]
    if not offline:
        checks += _sources(paths, settings, sample)
    return checks
