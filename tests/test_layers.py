"""One layer order: a module imports only its own layer and those below it (imports inside functions too)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gpu", "sources", "pipeline", "outputs")

# Lowest first. Every module of the packages is named here: a new module fails until it is given a layer.
LAYERS: dict[str, list[str]] = {
    "gpu": [  # arrays only: imports nothing of Pulse's
        "gpu", "gpu.checks", "gpu.cupy_backend", "gpu.launch", "gpu.numpy_backend", "gpu.sm90",
    ],
    "sources": [  # the outside world: fetch, parse, segment; no database
        "sources", "sources.archive", "sources.base", "sources.boilerplate", "sources.clean", "sources.config",
        "sources.detect", "sources.feed", "sources.fetch", "sources.furniture", "sources.models", "sources.segment",
        "sources.segmenters", "sources.segmenters.blocks", "sources.segmenters.features",
        "sources.segmenters.generic", "sources.segmenters.importai", "sources.segmenters.registry", "sources.urls",
    ],
    "pipeline": [  # the store and the stages that read and write it
        "pipeline", "pipeline.cluster", "pipeline.cluster_eval", "pipeline.cluster_stage", "pipeline.config",
        "pipeline.dates", "pipeline.doctor", "pipeline.embed", "pipeline.embed_stage", "pipeline.fast_encode", "pipeline.fts_query",
        "pipeline.furniture_stage", "pipeline.ingest", "pipeline.lazy", "pipeline.migrations", "pipeline.nightly",
        "pipeline.onnx_model", "pipeline.relate", "pipeline.resegment", "pipeline.samples", "pipeline.scaleout",
        "pipeline.search", "pipeline.search_eval",
        "pipeline.store", "pipeline.terms", "pipeline.views",
    ],
    "outputs": [  # stored rows to text: briefs, digests, e-mail, the web page
        "outputs", "outputs.brief", "outputs.brief_stage", "outputs.brief_workers", "outputs.digest", "outputs.email", "outputs.evidence",
        "outputs.facts", "outputs.generate",
        "outputs.grounding", "outputs.markdown", "outputs.render", "outputs.sentences", "outputs.signals",
        "outputs.headline", "outputs.pages", "outputs.watch", "outputs.watch_stage", "outputs.web",
    ],
    "app": [  # configuration and stage wiring, and the command line on top
        "pipeline.app", "pipeline.cli", "pipeline.searching",
    ],
}
RANK = {module: rank for rank, modules in enumerate(LAYERS.values()) for module in modules}
LAYER_OF = {module: layer for layer, modules in LAYERS.items() for module in modules}


def module_files() -> dict[str, Path]:
    """Every module of the packages by dotted name (a package by its own name)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = module_files()


def imported(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, module) for each of Pulse's modules that `module` imports, at the top or inside a function."""
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package, one level up per extra dot
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(package[:len(package) - (node.level - 1)])
                target = ".".join(part for part in (base, node.module) if part)
            else:
                target = node.module or ""
            for alias in node.names:  # `from pkg import mod` imports the module pkg.mod
                sub = f"{target}.{alias.name}"
                out.append((node.lineno, sub if sub in MODULES else target))
    return [(line, name) for line, name in out if name.split(".")[0] in PACKAGES]


def owner(name: str) -> str:
    """The mapped module an imported name belongs to (`pipeline.store.Store` -> `pipeline.store`)."""
    while name not in RANK and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def test_every_module_has_a_layer():
    missing = sorted(set(MODULES) - set(RANK))
    assert not missing, f"modules in no layer (add them to LAYERS in {Path(__file__).name}): {missing}"


def test_each_module_is_named_once():
    named = [m for modules in LAYERS.values() for m in modules]
    assert len(named) == len(set(named))


def violations(module: str, path: Path) -> list[str]:
    """One line for each import of `module` from a layer above its own."""
    return [f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{line} imports {name} "
            f"({LAYER_OF[owner(name)]}), above {LAYER_OF[module]}"
            for line, name in imported(module, path) if owner(name) in RANK and RANK[owner(name)] > RANK[module]]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_higher_layer(module):
    if module not in RANK:
        pytest.skip("in no layer (test_every_module_has_a_layer fails)")
    wrong = violations(module, MODULES[module])
    assert not wrong, "\n".join(wrong)


def test_the_check_catches_imports_anywhere(tmp_path):
    """Relative imports, `from package import module` and imports inside functions are all seen."""
    store = tmp_path / "store.py"
    store.write_text("from . import cli\n\ndef f():\n    from outputs.web import create_app\n"
                     "    import outputs.digest\n    from .app import run_night\n", "utf-8")
    found = violations("pipeline.store", store)
    assert [line.split(" imports ")[1].split(" (")[0] for line in found] == [
        "pipeline.cli", "outputs.web", "outputs.digest", "pipeline.app"], found
    web = tmp_path / "web.py"
    web.write_text("from pipeline.store import Store\nfrom ..pipeline import views\nfrom . import markdown\n", "utf-8")
    assert violations("outputs.web", web) == []
