"""Message templates: a brand's own (rows of ``message_templates``) over the built-in defaults
(files under ``templates/``, one TOML file per key, in English), rendered by Jinja in a
sandbox.

Lookup for a brand, key, channel and language: the brand's template in that language, in its
primary subtag (``pt-BR`` -> ``pt``), in the brand's default language, then the built-in file.
Rendering is strict: a variable the template uses and the context lacks is an error at
enqueue (``missing_variable``), never a blank in a sent mail. The HTML body is autoescaped;
the subject and the text body are not (they are not HTML, an ``&amp;`` there would show).
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

import psycopg
from jinja2 import StrictUndefined, Template, TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from backoffice.audit import Actor, record
from backoffice.comms.errors import MessageRefused
from backoffice.comms.rules import Channel, checked_language, language_candidates

FOLDER = Path(__file__).parent / "templates"
BUILT_IN_LANGUAGE = "en"

_TEXT = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_HTML = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=True)


@dataclass(frozen=True, slots=True)
class TemplateSource:
    key: str
    language: str
    channel: Channel
    subject: str | None
    body_text: str
    body_html: str | None
    origin: Literal["brand", "built-in"]


@dataclass(frozen=True, slots=True)
class Rendered:
    language: str
    subject: str | None
    body_text: str
    body_html: str | None


def find_template(
    conn: psycopg.Connection[Any],
    brand_id: int,
    key: str,
    channel: Channel,
    language: str | None,
    brand_default: str,
) -> TemplateSource:
    """The template to send, by the fallback above; ``unknown_template`` when there is none."""
    candidates = language_candidates(language, brand_default)
    rows = conn.execute(
        """SELECT language, subject, body_text, body_html FROM message_templates
           WHERE brand_id = %s AND key = %s AND channel = %s AND language = ANY(%s)""",
        (brand_id, key, channel, candidates),
    ).fetchall()
    by_language = {row[0]: row for row in rows}
    for candidate in candidates:
        if candidate in by_language:
            _, subject, text, html = by_language[candidate]
            return TemplateSource(key, candidate, channel, subject, text, html, "brand")
    found = built_in(key, channel)
    if found is None:
        raise MessageRefused(
            "unknown_template", f"no {channel} template {key!r}", template=key, channel=channel
        )
    return found


@cache
def built_in(key: str, channel: Channel) -> TemplateSource | None:
    path = FOLDER / f"{key}.toml"
    if not key.isidentifier() or not path.is_file():
        return None
    part = tomllib.loads(path.read_text(encoding="utf-8")).get(channel)
    if part is None:
        return None
    return TemplateSource(
        key,
        BUILT_IN_LANGUAGE,
        channel,
        part.get("subject"),
        part["text"],
        part.get("html"),
        "built-in",
    )


def built_in_keys() -> list[str]:
    return sorted(path.stem for path in FOLDER.glob("*.toml"))


def render(source: TemplateSource, context: dict[str, Any]) -> Rendered:
    """The message as it will be sent; :class:`MessageRefused` for a missing variable or a
    template that does not compile or breaks the sandbox."""
    try:
        subject = None
        if source.subject is not None:
            subject = " ".join(_compiled(False, source.subject).render(context).split())
        text = _compiled(False, source.body_text).render(context).strip() + "\n"
        html = None
        if source.body_html is not None:
            html = _compiled(True, source.body_html).render(context)
    except UndefinedError as exc:
        raise MessageRefused(
            "missing_variable",
            f"template {source.key!r}: {exc.message}",
            template=source.key,
            language=source.language,
            error=exc.message,
        ) from exc
    except TemplateError as exc:
        raise MessageRefused(
            "template_error", f"template {source.key!r}: {exc}", template=source.key, error=str(exc)
        ) from exc
    return Rendered(source.language, subject, text, html)


def save_template(
    conn: psycopg.Connection[Any],
    actor: Actor,
    *,
    brand_id: int,
    key: str,
    language: str,
    channel: Channel,
    subject: str | None,
    body_text: str,
    body_html: str | None = None,
) -> int:
    """Create or replace a brand's template (checked to compile first; audited); its id."""
    language = checked_language(language)
    if (channel == "email") != (subject is not None) or (channel == "sms" and body_html):
        raise MessageRefused(
            "template_error", "an e-mail needs a subject; an SMS is text only", channel=channel
        )
    for html, part in ((False, subject), (False, body_text), (True, body_html)):
        if part is not None:
            try:
                _compiled(html, part)
            except TemplateError as exc:
                raise MessageRefused(
                    "template_error", f"template {key!r}: {exc}", template=key, error=str(exc)
                ) from exc
    before = conn.execute(
        """SELECT subject, body_text, body_html FROM message_templates
           WHERE brand_id = %s AND key = %s AND language = %s AND channel = %s FOR UPDATE""",
        (brand_id, key, language, channel),
    ).fetchone()
    row = conn.execute(
        """INSERT INTO message_templates (brand_id, key, language, channel, subject, body_text,
                                          body_html)
           VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (brand_id, key, language, channel) DO UPDATE
           SET subject = EXCLUDED.subject, body_text = EXCLUDED.body_text,
               body_html = EXCLUDED.body_html, updated_at = now()
           RETURNING id""",
        (brand_id, key, language, channel, subject, body_text, body_html),
    ).fetchone()
    assert row is not None
    after = TemplateSource(key, language, channel, subject, body_text, body_html, "brand")
    record(
        conn,
        actor,
        "message_template.save",
        "message_template",
        int(row[0]),
        None
        if before is None
        else dict(zip(("subject", "body_text", "body_html"), before, strict=True)),
        {**asdict(after), "brand_id": brand_id},
    )
    return int(row[0])


@lru_cache(maxsize=512)
def _compiled(html: bool, source: str) -> Template:
    return (_HTML if html else _TEXT).from_string(source)
