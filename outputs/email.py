"""E-mail the night's digest: multipart text (the markdown) + HTML (markdown-it, cleaned by nh3),
through SMTP with the standard library (STARTTLS, SSL or plain; login by config, the password from
an environment variable, never from pulse.toml)."""
from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from pipeline.store import Store

from .markdown import to_html

SECURITY = ("starttls", "ssl", "none")


class EmailError(Exception):
    pass


@dataclass
class EmailConfig:
    to: list[str] = field(default_factory=list)
    sender: str = "pulse@localhost"
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"  # starttls | ssl | none
    username: str | None = None
    password_env: str = "PULSE_SMTP_PASSWORD"
    timeout: float = 30.0
    subject: str = "Pulse digest {date}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EmailConfig":
        data = dict(data)
        if "from" in data:
            data["sender"] = data.pop("from")
        if isinstance(data.get("to"), str):
            data["to"] = [data["to"]]
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown key(s) in [email]: {', '.join(unknown)}")
        cfg = cls(**data)
        if not cfg.to:
            raise ValueError("[email] needs `to = [\"you@example.org\"]`")
        if cfg.security not in SECURITY:
            raise ValueError(f"[email] security must be one of {', '.join(SECURITY)}, got {cfg.security!r}")
        return cfg


def digest_hash(markdown: str) -> str:
    return hashlib.sha1(markdown.encode("utf-8")).hexdigest()


def build_message(cfg: EmailConfig, date: str, markdown: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = cfg.subject.format(date=date)
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=cfg.sender.rsplit("@", 1)[-1] or "localhost")
    msg.set_content(markdown)
    html = to_html(markdown)
    msg.add_alternative(f"<!doctype html><html><body>{html}</body></html>", subtype="html")
    return msg


def send(cfg: EmailConfig, msg: EmailMessage) -> None:
    """Send through SMTP; any failure is one EmailError line (the digest file is written anyway)."""
    context = ssl.create_default_context()
    try:
        if cfg.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        with smtp:
            if cfg.security == "starttls":
                smtp.starttls(context=context)
            if cfg.username:
                password = os.environ.get(cfg.password_env)
                if password is None:
                    raise EmailError(f"[email] username is set but ${cfg.password_env} is not")
                smtp.login(cfg.username, password)
            smtp.send_message(msg)
    except EmailError:
        raise
    except (OSError, smtplib.SMTPException) as exc:
        raise EmailError(f"cannot send the digest through {cfg.host}:{cfg.port}: {exc}") from None


def email_stage(store: Store, cfg: EmailConfig, date: str) -> dict[str, Any]:
    """The run's e-mail stage: send the night's digest unless this very digest was sent already
    (a rerun the same night does not mail twice; a changed digest is sent again)."""
    row = store.digest(date)
    if row is None:
        return {"sent": False, "to": cfg.to, "reason": "no digest tonight"}
    key = digest_hash(row["markdown"])
    if store.was_sent(date, key):
        return {"sent": False, "to": cfg.to, "reason": "this digest was sent already"}
    send(cfg, build_message(cfg, date, row["markdown"]))
    store.mark_sent(date, key, cfg.to)
    return {"sent": True, "to": cfg.to}
