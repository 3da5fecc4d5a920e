"""Where Pulse keeps things, and its settings (pulse.toml).

Config in the XDG config directory, data in the XDG data directory; both
overridable by --config-dir/--data-dir or PULSE_CONFIG_DIR/PULSE_DATA_DIR.

Every setting is a field of a typed dataclass: `Settings` for the top-level (and `[pulse]`) keys, one
class per `[section]` in `SECTIONS`. A field's type comes from its annotation and its range or choices
from its metadata (see `setting`); `Settings.load` checks every key of pulse.toml against them, so a
value of the wrong type, out of range, or a key Pulse does not know is one ConfigError line naming
the file, the key and what is expected (exit 2), never a traceback or a silent default.
"""
from __future__ import annotations

import copy
import json
import math
import os
import re
import tomllib
import types
import typing
from dataclasses import Field, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Union

from platformdirs import user_config_dir, user_data_dir

DEVICES = ("auto", "cpu", "cuda")  # and cuda:N, a given GPU


class ConfigError(Exception):
    """A bad pulse.toml: one line naming the file, the key and what is expected."""


def setting(default: Any, **checks: Any) -> Any:
    """A dataclass field with declared checks in its metadata.

    Checks: min / max (inclusive), gt (exclusive lower bound), choices (allowed strings), also (a regex
    of further allowed strings) with also_doc (how to say it), unit (for messages: "seconds"), and key
    (the TOML key, where it differs from the attribute name)."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=checks)
    return field(default=default, metadata=checks)


# ---------------------------------------------------------------------- checking a table against a schema
class _Wrong(Exception):
    """A value that does not fit a type (internal to the checker)."""


def check_table(schema: type, table: dict[str, Any], origin: str, section: str | None = None) -> dict[str, Any]:
    """`table` (TOML keys) checked against the dataclass `schema`: the values by attribute name, converted.

    ConfigError for an unknown key, a value of the wrong type or out of range; `origin` names the file,
    `section` the [table] the keys are in (None: the top level)."""
    specs = {_toml_key(f): f for f in fields(schema) if f.init and f.name != "extra"}
    unknown = [k for k in table if k not in specs]
    if unknown:
        where = f" in [{section}]" if section else ""
        raise ConfigError(f"{origin}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
                          f"{where} (known: {', '.join(sorted(specs))})")
    hints = typing.get_type_hints(schema)
    return {specs[k].name: check_value(value, hints[specs[k].name], specs[k].metadata,
                                       f"{origin}: {f'[{section}] ' if section else ''}{k}")
            for k, value in table.items()}


def check_value(value: Any, tp: Any, checks: typing.Mapping[str, Any], label: str) -> Any:
    """One value checked for type `tp` and the declared `checks`; ConfigError "<label> must be ..., got ..."."""
    try:
        converted = _convert(value, tp)
        if not _in_range(converted, checks):
            raise _Wrong
    except _Wrong:
        raise ConfigError(f"{label} must be {expected(tp, checks)}, got {_show(value)}") from None
    return converted


def _convert(value: Any, tp: Any) -> Any:
    """`value` as type `tp` (an int is a fine float, a bool is not a number); _Wrong if it is not one."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        for arm in (a for a in args if a is not type(None)):  # TOML has no null: None is only a default
            try:
                return _convert(value, arm)
            except _Wrong:
                pass
        raise _Wrong
    if origin is list and isinstance(value, list):
        return [_convert(v, args[0]) for v in value]
    if origin is dict and isinstance(value, dict):
        return {k: _convert(v, args[1]) for k, v in value.items()}
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp in (bool, str) and isinstance(value, tp):
        return value
    raise _Wrong


def _in_range(value: Any, checks: typing.Mapping[str, Any]) -> bool:
    """Whether a converted value meets min/gt/max and choices/also."""
    if "min" in checks and value < checks["min"]:
        return False
    if "gt" in checks and value <= checks["gt"]:
        return False
    if "max" in checks and value > checks["max"]:
        return False
    if "choices" in checks and value not in checks["choices"]:
        return bool(checks.get("also")) and re.fullmatch(checks["also"], value) is not None
    return True


def expected(tp: Any, checks: typing.Mapping[str, Any]) -> str:
    """What a field accepts, in words: 'a number of seconds > 0', 'one of "auto", "cpu", "cuda" or cuda:N'."""
    if "choices" in checks:
        text = "one of " + ", ".join(json.dumps(c) for c in checks["choices"])
        return text + (f" or {checks['also_doc']}" if checks.get("also_doc") else "")
    unit = checks.get("unit")
    if unit and tp is int:
        text = f"a whole number of {unit}"
    elif unit:
        text = f"{_noun(tp)} of {unit}"
    else:
        text = _noun(tp)
    if "min" in checks and "max" in checks:
        return f"{text} from {checks['min']} to {checks['max']}"
    low = f" >= {checks['min']}" if "min" in checks else f" > {checks['gt']}" if "gt" in checks else ""
    high = f" <= {checks['max']}" if "max" in checks else ""
    return text + low + (" and" if low and high else "") + high


def _noun(tp: Any, plural: bool = False) -> str:
    """A type in words: 'a number', 'a list of strings', 'a table of strings or lists of strings'."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_noun(a, plural) for a in args if a is not type(None))
    if origin is list:
        return f"{'lists' if plural else 'a list'} of {_noun(args[0], True)}"
    if origin is dict:
        return f"{'tables' if plural else 'a table'} of {_noun(args[1], True)}"
    words = {bool: ("true or false", "true or false"), int: ("an integer", "integers"),
             float: ("a number", "numbers"), str: ("a string", "strings")}
    return words[tp][plural]


def _show(value: Any) -> str:
    """A value as the user wrote it, more or less (TOML and JSON agree on most), cut short."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # nan, inf: as TOML writes them
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def _toml_key(f: Field) -> str:
    return f.metadata.get("key", f.name)


# ---------------------------------------------------------------------- the [sections] of pulse.toml
@dataclass
class ClusterSettings:
    """[cluster]: overrides of ClusterConfig (pipeline/cluster.py); defaults the same as its own."""

    threshold: float = setting(0.62, min=0, max=1)  # cosines
    link_threshold: float = setting(0.40, min=0, max=1)
    centroid_min: float = setting(0.55, min=0, max=1)
    window_days: float = setting(14.0, gt=0, unit="days")
    max_hub: int = setting(12, min=1)
    max_link_df: int = setting(8, min=1)
    neighbours: int = setting(20, min=1)
    thread_threshold: float = setting(0.55, min=0, max=1)
    thread_window_days: float = setting(120.0, gt=0, unit="days")
    thread_quiet_days: float = setting(45.0, gt=0, unit="days")
    thread_member_min: float = setting(0.60, min=0, max=1)
    thread_close: float = setting(0.75, min=-1, max=1)
    thread_far: float = setting(0.30, min=-1, max=1)
    subject_max_share: float = setting(0.015, min=0, max=1)
    member_min: float = setting(0.40, min=0, max=1)
    max_related: int = setting(3, min=0)
    same_days: float = setting(14.0, gt=0, unit="days")  # the same-story decision (pipeline/relate.py)
    same_score: float = setting(0.85, min=0, max=2)
    overlap_weight: float = setting(0.3, min=0, max=2)
    link_cos: float = setting(0.30, min=0, max=1)
    related_overlap: float = setting(0.20, min=0, max=1)
    repeat_cos: float = setting(0.80, min=0, max=1)  # a shared specific link and this cosine: told again, any gap
    related_max_share: float = setting(0.02, min=0, max=1)  # related news shares a name few stories use
    own_days: float = setting(10.0, gt=0, unit="days")  # one newsletter retelling it later, no shared link: news
    figure_cos: float = setting(0.60, min=0, max=1)  # the same sum or count in both: the same story at this cosine
    sole_name_cos: float = setting(0.55, min=0, max=2)  # two newsletters' headlines alone naming a rare name ...
    sole_name_days: float = setting(10.0, gt=0, unit="days")  # ... within this many days of each other
    sole_name_df: int = setting(6, min=0)  # ... that at most this many stories of the archive name
    issue_twice_cos: float = setting(0.65, min=0, max=2)  # one issue's two reports of one event, at this cosine


@dataclass
class BriefSettings:
    """[brief]: how briefs are written (outputs/generate.py), and for whom."""

    generator: str = setting("template", choices=("template", "transformers", "openai"))
    model: str | None = None  # a local path (transformers) or the server's model name (openai)
    base_url: str | None = None  # openai: http://host:port/v1
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = setting(60.0, gt=0, unit="seconds")
    max_new_tokens: int = setting(400, min=1)
    device: str = setting("auto", choices=DEVICES, also=r"cuda:\d+", also_doc="cuda:N")
    audiences: dict[str, list[str] | str] | None = None  # [brief.audiences]: name = description(s)
    workers: int = setting(0, min=0)  # processes building briefs on a large night; 0: one per core (4+ cores)


@dataclass
class DigestSettings:
    """[digest]: the nightly digest."""

    max_items: int = setting(25, min=1)
    base_url: str | None = None  # where the digests are published (links in the Atom feed)
    # the weekday the week just ended gets its weekly digest (written and, with [email], mailed)
    weekly_day: str = setting("monday", choices=("monday", "tuesday", "wednesday", "thursday", "friday",
                                                 "saturday", "sunday"))


@dataclass
class EmailSettings:
    """[email]: e-mailing the digest (outputs/email.py's EmailConfig, plus `enabled`)."""

    enabled: bool = False
    to: list[str] | str = setting([])  # one address or a list
    sender: str = setting("pulse@localhost", key="from")
    host: str = "localhost"
    port: int = setting(587, min=1, max=65535)
    security: str = setting("starttls", choices=("starttls", "ssl", "none"))
    username: str | None = None
    password_env: str = "PULSE_SMTP_PASSWORD"
    timeout: float = setting(30.0, gt=0, unit="seconds")
    subject: str = "Pulse digest {date}"


@dataclass
class SearchSettings:
    """[search]: `pulse search` and `pulse serve`."""

    min_cosine: float = setting(0.2, min=-1, max=1)  # semantic hits below this are noise
    depth: int = setting(50, min=1)  # candidates per side before fusion
    torch_threads: int = setting(1, min=1)  # threads for a query's vector (torch or ONNX Runtime)
    # the query's vector: "auto" uses the model's ONNX twin when one was exported (a cold search loads no
    # torch), "onnx" requires it, "torch" always loads the model itself
    encoder: str = setting("auto", choices=("auto", "onnx", "torch"))


SECTIONS: dict[str, type] = {"brief": BriefSettings, "cluster": ClusterSettings, "digest": DigestSettings,
                             "email": EmailSettings, "search": SearchSettings}


# ---------------------------------------------------------------------- pulse.toml
@dataclass
class Settings:
    """pulse.toml, with defaults that work out of the box."""

    model: str = "default"  # "default" = the bundled all-MiniLM-L6-v2; or any name/path
    device: str = setting("auto", choices=DEVICES, also=r"cuda:\d+", also_doc="cuda:N")
    batch_size: int = setting(64, min=1)
    fp16: bool = True  # on GPU only
    # what embeds on the CPU: "auto" = the model's ONNX twin (torch's vectors; else torch itself), "onnx"
    # (the twin or an error), "int8" (its int8 variant: faster, slightly noisier vectors) or "torch"; a
    # missing twin is exported on first use
    cpu_encoder: str = setting("auto", choices=("auto", "int8", "onnx", "torch"))
    fetch_timeout: float = setting(30.0, gt=0, unit="seconds")
    fetch_retries: int = setting(3, min=0, max=10)
    fetch_max_bytes: int = setting(20 * 1024 * 1024, min=1024, unit="bytes")
    host_delay: float = setting(1.0, min=0, unit="seconds")
    db_timeout: float = setting(30.0, gt=0, unit="seconds")  # to wait for a database another program holds locked
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)  # the [sections]: checked values by attribute

    @classmethod
    def load(cls, path: Path) -> "Settings":
        """pulse.toml checked key by key (ConfigError otherwise); the defaults when there is none."""
        if not path.exists():
            return cls()
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text") from None
        return cls.from_toml(data, str(path))

    @classmethod
    def from_toml(cls, data: dict[str, Any], origin: str = "pulse.toml") -> "Settings":
        """Settings from parsed TOML: top-level and [pulse] keys, then each [section] against SECTIONS."""
        tables = {k: v for k, v in data.items() if k == "pulse" or k in SECTIONS}
        for name, value in tables.items():
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: {name} must be a [{name}] table, got {_show(value)}")
        known = {f.name for f in fields(cls)} - {"extra"}
        stray = [k for k, v in data.items() if isinstance(v, dict) and k not in tables and k not in known]
        if stray:
            raise ConfigError(f"{origin}: unknown section{'s' if len(stray) > 1 else ''} "
                              f"{', '.join(f'[{k}]' for k in stray)} (known: "
                              f"{', '.join(f'[{k}]' for k in sorted([*SECTIONS, 'pulse']))})")
        top = {k: v for k, v in data.items() if k not in tables}
        values = {**check_table(cls, tables.get("pulse", {}), origin, "pulse"), **check_table(cls, top, origin)}
        extra = {name: check_table(SECTIONS[name], table, origin, name)
                 for name, table in tables.items() if name != "pulse"}
        return cls(**values, extra=extra)

    def section(self, name: str) -> Any:
        """A [section] as its typed dataclass (defaults for what pulse.toml leaves out)."""
        return SECTIONS[name](**self.extra.get(name, {}))

    def section_dict(self, name: str) -> dict[str, Any]:
        """A [section] as a dict of every key, by attribute name."""
        return asdict(self.section(name))


@dataclass
class Paths:
    config_dir: Path
    data_dir: Path

    @classmethod
    def resolve(cls, config_dir: str | Path | None = None, data_dir: str | Path | None = None) -> "Paths":
        cfg = config_dir or os.environ.get("PULSE_CONFIG_DIR") or user_config_dir("pulse")
        data = data_dir or os.environ.get("PULSE_DATA_DIR") or user_data_dir("pulse")
        return cls(Path(cfg).expanduser(), Path(data).expanduser())

    @property
    def sources_file(self) -> Path:
        return self.config_dir / "sources.toml"

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "pulse.toml"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "pulse.db"

    @property
    def output_dir(self) -> Path:
        """Digests, story pages and the Atom feed."""
        return self.data_dir / "digests"

    def sample(self) -> "Paths":
        """The sample run keeps its own archive, never mixed with real subscriptions."""
        return Paths(self.config_dir, self.data_dir / "sample")
