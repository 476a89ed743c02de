"""GeoReport v2's two formats: JSON and XML (UTF-8, the XML declaration first), and its error shape."""
from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from aiohttp import web

FORMATS = {"json": "application/json", "xml": "text/xml"}


def split_format(name: str) -> tuple[str, str]:
    """`requests.json` → ('requests', 'json'); no suffix means XML, the spec's required format."""
    for fmt in FORMATS:
        if name.endswith("." + fmt):
            return name[: -len(fmt) - 1], fmt
    return name, "xml"


def _xml_value(parent: ET.Element, key: str, value: Any) -> None:
    child = ET.SubElement(parent, key)
    if isinstance(value, bool):
        child.text = "true" if value else "false"
    elif value is not None:
        child.text = str(value)


def to_xml(root: str, item: str | None, rows: list[dict[str, Any]] | dict[str, Any]) -> bytes:
    """A root element holding one element per row (`item`), or the fields of one row directly."""
    top = ET.Element(root)
    for row in rows if isinstance(rows, list) else [rows]:
        holder = ET.SubElement(top, item) if item else top
        for key, value in row.items():
            if isinstance(value, list):
                group = ET.SubElement(holder, key)
                for inner_key, inner_value in value:
                    _xml_value(group, inner_key, inner_value)
            else:
                _xml_value(holder, key, value)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(top, encoding="utf-8", xml_declaration=False)


def respond(fmt: str, json_body: Any, xml_root: str, xml_item: str | None, xml_rows: Any,
            status: int = 200) -> web.Response:
    if fmt == "json":
        body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
    else:
        body = to_xml(xml_root, xml_item, xml_rows)
    return web.Response(body=body, status=status, content_type=FORMATS[fmt], charset="utf-8")


def error(fmt: str, status: int, description: str) -> web.Response:
    """The spec's error list: code and description, in the asked format."""
    rows = [{"code": status, "description": description}]
    return respond(fmt, rows, "errors", "error", rows, status=status)
