"""Reading a delivery from a Paperless workflow, whatever shape its body has.

Paperless says nothing about which trigger fired, and a person may set up the workflow by hand in
any of the ways Paperless offers (``../shared/paperless-api/FACTS.md``, capture 55):

* ``use_params`` + ``as_json``: a JSON object whose values are all strings (``"doc_id": "147"``);
* ``use_params`` alone: a form (``doc_id=147&title=...``), multipart with the original file when
  ``include_document`` is on (the file is read and dropped, never kept);
* a ``body`` template: raw bytes, typed only by a ``Content-Type`` the person set, so JSON with
  real numbers (``{"doc_id": 147}``), or anything else;
* a ``body`` with ``as_json``: the rendered body JSON-encoded once more, as one JSON string.

What we need is the document's id: ``doc_id`` (or ``document_id`` / ``id``), else the number in
a ``/documents/<id>/`` URL (``doc_url``), else ``?doc_id=`` on our own URL. Everything here is
pure: no database, no Django request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

ID_KEYS = ("doc_id", "document_id", "document", "id")
TITLE_KEYS = ("title", "doc_title")
_DOCUMENT_URL = re.compile(r"/documents/(\d{1,18})(?:/|$)")
_MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Delivery:
    """What a delivery said: the document's id (None when it named none), its title if sent, the
    body's shape, and the fields as read (strings)."""

    document_id: int | None
    title: str = ""
    body_format: str = ""
    fields: dict[str, str] = field(default_factory=dict)


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= _MAX_ID else None
    if isinstance(value, str):
        text = value.strip()
        if text.isdecimal() and len(text) <= 19:
            number = int(text)
            return number if 0 < number <= _MAX_ID else None
    return None


def _flatten(data: dict[str, Any]) -> dict[str, str]:
    """Top-level fields as text (nested values as their JSON)."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, str):
            flat[str(key)] = value
        elif value is None:
            flat[str(key)] = ""
        else:
            flat[str(key)] = json.dumps(value)
    return flat


def document_id_from(fields: dict[str, Any], *, query: dict[str, str] | None = None) -> int | None:
    """The document's id in a delivery's fields (see the module docstring for where it looks)."""
    for key in ID_KEYS:
        if key in fields and (number := _as_id(fields[key])) is not None:
            return number
    for key in ("doc_url", "url", "document_url"):
        match = _DOCUMENT_URL.search(str(fields.get(key) or ""))
        if match:
            return _as_id(match.group(1))
    for value in fields.values():
        if isinstance(value, str) and (match := _DOCUMENT_URL.search(value)):
            return _as_id(match.group(1))
    for key in ID_KEYS:
        if query and (number := _as_id(query.get(key))) is not None:
            return number
    return None


def _from_mapping(data: dict[str, Any], fmt: str, query: dict[str, str] | None) -> Delivery:
    title = next((str(data[k]) for k in TITLE_KEYS if isinstance(data.get(k), str)), "")
    return Delivery(
        document_id=document_id_from(data, query=query),
        title=title[:300],
        body_format=fmt,
        fields=_flatten(data),
    )


def parse_json_body(body: bytes, *, query: dict[str, str] | None = None) -> Delivery | None:
    """A JSON body: an object, or an object JSON-encoded once more as a string (``as_json`` with a
    body template). None when it is not JSON."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None
    fmt = "json"
    if isinstance(data, str):  # a body template sent with as_json: JSON inside a JSON string
        inner = data
        try:
            data = json.loads(inner)
        except ValueError:
            return parse_text(inner.encode(), query=query, fmt="json-string")
        fmt = "json-string"
    if isinstance(data, dict):
        return _from_mapping(data, fmt, query)
    if (number := _as_id(data)) is not None:  # a body of just the id
        return Delivery(document_id=number, body_format=fmt)
    return Delivery(document_id=document_id_from({}, query=query), body_format=fmt)


def parse_text(body: bytes, *, query: dict[str, str] | None = None, fmt: str = "raw") -> Delivery:
    """A body of unknown type: JSON if it is, a query string if it looks like one, else the
    first ``/documents/<id>/`` URL or a lone number in it."""
    parsed = parse_json_body(body, query=query)
    if parsed is not None and fmt == "raw":
        return parsed
    text = body.decode("utf-8", "replace").strip()
    if "=" in text and "\n" not in text:
        pairs = {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
        if pairs:
            found = _from_mapping(pairs, fmt, query)
            if found.document_id is not None:
                return found
    if (number := _as_id(text)) is not None:
        return Delivery(document_id=number, body_format=fmt)
    return Delivery(document_id=document_id_from({"body": text}, query=query), body_format=fmt)


def parse_form(data: dict[str, str], *, multipart: bool, query: dict[str, str]) -> Delivery:
    """A form (``use_params``), multipart when the workflow includes the document."""
    return _from_mapping(dict(data), "multipart" if multipart else "form", query)
