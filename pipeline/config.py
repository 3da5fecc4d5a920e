"""Where Pulse keeps things, and its settings (pulse.toml).

Config in the XDG config directory, data in the XDG data directory; both
overridable by --config-dir/--data-dir or PULSE_CONFIG_DIR/PULSE_DATA_DIR.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir, user_data_dir


class ConfigError(Exception):
    pass


@dataclass
class Settings:
    """pulse.toml, with defaults that work out of the box."""

    model: str = "default"  # "default" = the bundled all-MiniLM-L6-v2; or any name/path
    device: str = "auto"  # auto | cpu | cuda
    batch_size: int = 64
    fp16: bool = True  # on GPU only
    fetch_timeout: float = 30.0
    fetch_retries: int = 3
    fetch_max_bytes: int = 20 * 1024 * 1024
    host_delay: float = 1.0
    db_timeout: float = 30.0  # seconds to wait for a database another program holds locked
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "Settings":
        if not path.exists():
            return cls()
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        known = {f.name for f in fields(cls)} - {"extra"}
        flat = {**data.pop("pulse", {}), **{k: v for k, v in data.items() if not isinstance(v, dict)}}
        values = {k: v for k, v in flat.items() if k in known}
        extra = {k: v for k, v in data.items() if isinstance(v, dict)}
        return cls(**values, extra=extra)


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
