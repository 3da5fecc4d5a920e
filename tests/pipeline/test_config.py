"""Typed configuration: every setting of pulse.toml and every sources.toml entry checked at load.

A bad value is one line on stderr naming the file, the key and what is expected, exit 2, never a
traceback; a valid full config loads and reaches the code that uses it."""
from __future__ import annotations

import json
from dataclasses import asdict, fields

import pytest
from click.testing import CliRunner

from outputs.email import EmailConfig
from pipeline.app import cluster_config, email_config, fetcher_for
from pipeline.cli import main
from pipeline.cluster import ClusterConfig
from pipeline.config import ClusterSettings, EmailSettings, Settings
from sources.config import load_sources

FEED = '[[source]]\nname = "alpha"\nkind = "rss"\nurl = "https://alpha.example.org/feed"\n'

FULL_PULSE_TOML = """\
model = "default"
device = "cpu"
batch_size = 16
fp16 = false
fetch_timeout = 5          # an int is a fine number of seconds
fetch_retries = 0
fetch_max_bytes = 1048576
host_delay = 0
db_timeout = 2.5

[cluster]
threshold = 0.6
link_threshold = 0.4
centroid_min = 0.5
window_days = 7
max_hub = 10
max_link_df = 6
neighbours = 15
thread_threshold = 0.5
thread_window_days = 90

[brief]
generator = "template"
model = "qwen2.5-7b-instruct"
base_url = "http://127.0.0.1:8080/v1"
api_key_env = "OPENAI_API_KEY"
timeout = 30
max_new_tokens = 200
device = "cuda:0"

[brief.audiences]
"Robotics teams" = ["robot learning, manipulation and embodied AI"]
"Chip people" = "accelerators and compilers"

[digest]
max_items = 10
base_url = "https://me.example/pulse/"

[email]
enabled = false
to = ["me@example.org"]
from = "pulse@example.org"
host = "smtp.example.org"
port = 465
security = "ssl"
username = "pulse"
password_env = "PULSE_SMTP_PASSWORD"
timeout = 10
subject = "Pulse {date}"

[search]
min_cosine = 0.25
depth = 40
torch_threads = 2
"""

FULL_SOURCES_TOML = FEED + """
[[source]]
name = "importai"
kind = "importai"
url = "https://importai.substack.com/feed"
segmenter = "importai"
archive_url = "https://jack-clark.net/"
archive_link_pattern = "/\\\\d{4}/"
archive_max_pages = 5
archive_content_selector = ".entry-content"
archive_title_selector = "h1"

[[source]]
name = "somearchive"
kind = "html"
url = "https://example.org/archive"
link_pattern = "/p/[^/]+"
segmenter = "generic"
max_pages = 3
content_selector = "article"
title_selector = "h1.title"
"""


def pulse(tmp_path, *args, pulse_toml: str | None = None, sources_toml: str = FEED):
    """`pulse --config-dir --data-dir ARGS` on a config of our own, as a user would run it."""
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "sources.toml").write_text(sources_toml, "utf-8")
    if pulse_toml is not None:
        (config / "pulse.toml").write_text(pulse_toml, "utf-8")
    return CliRunner().invoke(main, ["--config-dir", str(config), "--data-dir", str(tmp_path / "data"), *args])


def assert_one_line_error(result, file: str, *words: str) -> str:
    """Exit 2, one line on stderr that names the file and the words, no traceback; the line."""
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    assert result.stderr.count("\n") == 1, result.stderr
    line = result.stderr.strip()
    assert line.startswith("error: ") and f"{file}:" in line, line
    for word in words:
        assert word in line, line
    return line


# ---------------------------------------------------------------------- pulse.toml
@pytest.mark.parametrize("toml, words", [
    ("db_timeout = []", ["db_timeout must be a number of seconds > 0, got []"]),
    ('fetch_max_bytes = "lots"', ['fetch_max_bytes must be a whole number of bytes >= 1024, got "lots"']),
    ("fetch_timeout = -1", ["fetch_timeout must be a number of seconds > 0, got -1"]),
    ("batch_size = 0", ["batch_size must be an integer >= 1, got 0"]),
    ("batchsize = 64", ["unknown key 'batchsize'", "known: batch_size, cpu_encoder, db_timeout"]),
    ("batch_size = true", ["batch_size must be an integer", "got true"]),  # a bool is not an int
    ("batch_size = 64.5", ["batch_size must be an integer", "got 64.5"]),
    ("fp16 = 1", ["fp16 must be true or false, got 1"]),
    ('device = "tpu"', ['device must be one of "auto", "cpu", "cuda" or cuda:N, got "tpu"']),
    ("fetch_retries = 99", ["fetch_retries must be an integer from 0 to 10, got 99"]),
    ("host_delay = nan", ["host_delay must be a number of seconds >= 0, got nan"]),
    ("[pulse]\ndb_timeout = 0", ["[pulse] db_timeout must be a number of seconds > 0, got 0"]),
    ("[pulse]\ndbtimeout = 1", ["unknown key 'dbtimeout' in [pulse]"]),
    ("[clusters]\nthreshold = 0.6", ["unknown section [clusters]", "known: [brief], [cluster]"]),
    ("cluster = 0.6", ["cluster must be a [cluster] table, got 0.6"]),
    ("[cluster]\nthreshold = 2", ["[cluster] threshold must be a number from 0 to 1, got 2"]),
    ('[cluster]\nmax_hub = "12"', ['[cluster] max_hub must be an integer >= 1, got "12"']),
    ("[cluster]\nthresold = 0.6", ["unknown key 'thresold' in [cluster]", "known: centroid_min"]),
    ('[brief]\ngenerator = "gpt-9"', ['[brief] generator must be one of "template", "transformers", "openai"']),
    ("[brief]\ntimeout = 0", ["[brief] timeout must be a number of seconds > 0, got 0"]),
    ("[brief]\nmax_new_tokens = []", ["[brief] max_new_tokens must be an integer >= 1, got []"]),
    ('[brief.audiences]\n"Robotics" = 3', ["[brief] audiences must be a table of lists of strings or strings"]),
    ("[digest]\nmax_items = 0", ["[digest] max_items must be an integer >= 1, got 0"]),
    ("[digest]\nbase_url = 1", ["[digest] base_url must be a string, got 1"]),
    ('[email]\nport = "587"', ['[email] port must be an integer from 1 to 65535, got "587"']),
    ('[email]\nsecurity = "tls"', ['[email] security must be one of "starttls", "ssl", "none", got "tls"']),
    ("[email]\nto = [1, 2]", ["[email] to must be a list of strings or a string, got [1, 2]"]),
    ("[email]\nfrom = 3", ["[email] from must be a string, got 3"]),
    ('[email]\nenabled = "yes"', ['[email] enabled must be true or false, got "yes"']),
    ('[email]\nsender = "a@b.example"', ["unknown key 'sender' in [email]", "known: enabled, from"]),
    ("[search]\ndepth = 0", ["[search] depth must be an integer >= 1, got 0"]),
    ("[search]\nmin_cosine = 1.5", ["[search] min_cosine must be a number from -1 to 1, got 1.5"]),
])
def test_a_bad_setting_is_one_line_naming_file_and_key(tmp_path, toml, words):
    assert_one_line_error(pulse(tmp_path, "sources", "list", pulse_toml=toml + "\n"), "pulse.toml", *words)


def test_every_command_checks_settings_before_any_work(tmp_path):
    for args in (["runs"], ["run"], ["search", "x"], ["doctor", "--offline"]):
        assert_one_line_error(pulse(tmp_path, *args, pulse_toml="db_timeout = []\n"), "pulse.toml", "db_timeout")
    assert not (tmp_path / "data").exists()


def test_invalid_toml_is_one_line(tmp_path):
    assert_one_line_error(pulse(tmp_path, "runs", pulse_toml="db_timeout = \n"), "pulse.toml", "invalid TOML")


def test_verbose_shows_the_traceback_with_the_same_message(tmp_path):
    r = pulse(tmp_path, "--verbose", "runs", pulse_toml="db_timeout = []\n")
    assert r.exit_code != 0 and "db_timeout must be a number of seconds > 0" in str(r.exception)


def test_a_full_valid_config_loads_and_reaches_its_users(tmp_path):
    r = pulse(tmp_path, "sources", "list", "--json", pulse_toml=FULL_PULSE_TOML, sources_toml=FULL_SOURCES_TOML)
    assert r.exit_code == 0, r.output
    rows = {s["name"]: s for s in json.loads(r.stdout)}
    assert rows["somearchive"]["options"]["max_pages"] == 3
    assert rows["importai"]["options"]["archive_max_pages"] == 5

    config = tmp_path / "config"
    settings = Settings.load(config / "pulse.toml")
    assert settings.fetch_timeout == 5.0 and isinstance(settings.fetch_timeout, float)  # int given for float
    assert settings.device == "cpu" and settings.fp16 is False and settings.db_timeout == 2.5
    policy = fetcher_for(settings).policy
    assert (policy.read_timeout, policy.retries, policy.max_bytes) == (5.0, 0, 1048576)
    assert cluster_config(settings) == ClusterConfig(0.6, 0.4, 0.5, 7.0, 10, 6, 15, 0.5, 90.0)
    email = email_config(settings)
    assert (email.to, email.sender, email.port, email.security) == (["me@example.org"], "pulse@example.org",
                                                                     465, "ssl")
    assert settings.section("brief").audiences["Chip people"] == "accelerators and compilers"
    assert settings.section("search").torch_threads == 2 and settings.section("digest").max_items == 10


def test_no_config_files_mean_the_defaults_which_pass_their_own_checks(tmp_path):
    assert pulse(tmp_path, "sources", "list").exit_code == 0
    assert Settings.load(tmp_path / "nope.toml") == Settings()
    assert "importai" in [s.name for s in load_sources(tmp_path / "nope.toml")]  # the shipped default_sources.toml


def test_section_defaults_match_the_classes_they_configure():
    assert asdict(ClusterSettings()) == asdict(ClusterConfig())
    email = {f.name: f.default for f in fields(EmailSettings) if f.name not in ("enabled", "to")}
    assert email == {k: v for k, v in asdict(EmailConfig()).items() if k != "to"}


# ---------------------------------------------------------------------- sources.toml
ENTRY = '[[source]]\nname = "alpha"\nkind = "{kind}"\nurl = "https://alpha.example.org/"\n'


@pytest.mark.parametrize("toml, words", [
    ('[[source]]\nname = 1\nurl = "https://a.example.org/feed"', ["source #1: name must be a string, got 1"]),
    ('[[source]]\nname = "alpha"\nurl = 5', ["source #1 'alpha': url must be a string, got 5"]),
    ('[[source]]\nname = "alpha"\nkind = ["rss"]\nurl = "https://a.example.org/"',
     ['kind must be a string, got ["rss"]']),
    ('[[source]]\nname = "alpha"', ["source #1 'alpha' lacks 'url'"]),
    ('[[sources]]\nname = "alpha"\nurl = "https://a.example.org/"', ["unknown key 'sources'"]),
    ("source = 3", ["source must be [[source]] tables, got 3"]),
    (ENTRY.format(kind="html") + "max_page = 3", ["source 'alpha': unknown option 'max_page' for kind 'html'",
                                                  "known: content_selector, link_pattern, max_pages"]),
    (ENTRY.format(kind="rss") + "link_pattern = '/p/'", ["unknown option 'link_pattern' for kind 'rss'"]),
    (ENTRY.format(kind="html") + 'max_pages = "3"', ['max_pages must be an integer, got "3"']),
    (ENTRY.format(kind="html") + "max_pages = 0", ["max_pages must be an integer >= 1, got 0"]),
    (ENTRY.format(kind="html") + "max_pages = true", ["max_pages must be an integer, got true"]),
    (ENTRY.format(kind="html") + "link_pattern = '(('", ["link_pattern must be a regular expression"]),
    (ENTRY.format(kind="rss") + "segmenter = 'fancy'", ['segmenter must be one of "generic", "importai"']),
    (ENTRY.format(kind="rss") + "archive_url = 7", ["archive_url must be a string, got 7"]),
    (ENTRY.format(kind="importai") + "archive_url = 'ftp://x.example.org/'", ["archive_url must be a URL"]),
])
def test_a_bad_source_entry_is_one_line_naming_it(tmp_path, toml, words):
    assert_one_line_error(pulse(tmp_path, "sources", "list", sources_toml=toml + "\n"), "sources.toml", *words)


def test_a_bad_source_entry_stops_run_before_any_work(tmp_path):
    r = pulse(tmp_path, "run", sources_toml='[[source]]\nname = "alpha"\nurl = 5\n')
    assert_one_line_error(r, "sources.toml", "url must be a string")
    assert not (tmp_path / "data").exists()
