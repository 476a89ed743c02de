"""Request decoding: query string, urlencoded, multipart and JSON bodies.

Form bodies carry everything as strings (aiogram JSON-encodes nested objects and
writes booleans as "true"), so values are coerced by field name, the way Telegram
interprets them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import bad_request

JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "media",
        "reply_parameters",
        "entities",
        "caption_entities",
        "allowed_updates",
        "link_preview_options",
        "commands",
        "scope",
        "results",
        "permissions",
        "message_ids",
        "menu_button",
        "rights",
        "reaction",
    }
)
INT_FIELDS = frozenset(
    {
        "message_id",
        "message_thread_id",
        "reply_to_message_id",
        "offset",
        "limit",
        "timeout",
        "max_connections",
        "cache_time",
        "user_id",
        "from_chat_id",
        "width",
        "height",
        "duration",
        "until_date",
        "live_period",
        "heading",
        "proximity_alert_radius",
        "icon_color",
    }
)
FLOAT_FIELDS = frozenset({"latitude", "longitude", "horizontal_accuracy"})
BOOL_PREFIXES = ("disable_", "allow_", "has_", "show_", "is_", "can_", "protect_", "drop_", "only_")
_INT = re.compile(r"-?\d+")


@dataclass
class Upload:
    filename: str | None
    content_type: str | None
    data: bytes


def coerce(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {key} JSON object") from None
    if key in INT_FIELDS or key in ("chat_id", "from_chat_id"):
        if _INT.fullmatch(value.strip()):
            return int(value)
        if key == "chat_id" or key == "from_chat_id":
            return value  # "@channelusername"
        if value == "":
            return None
        raise bad_request(f"invalid {key} specified")
    if key in FLOAT_FIELDS:
        try:
            return float(value)
        except ValueError:
            raise bad_request(f"invalid {key} specified") from None
    if key.startswith(BOOL_PREFIXES) or key == "revoke_messages":
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0", ""):
            return False
    return value


def normalize(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: coerce(k, v) for k, v in raw.items()}


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """All parameters of a Bot API call, plus uploaded files by multipart field name."""
    raw: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method == "POST" and request.can_read_body:
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON request body") from None
            if isinstance(body, dict):
                raw.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    uploads[key] = Upload(value.filename, value.content_type, value.file.read())
                else:
                    raw[key] = value
    return normalize(raw), uploads


def split_uploads(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Upload]]:
    """For calls that arrive without HTTP (webhook responses): bytes values are files."""
    params: dict[str, Any] = {}
    uploads: dict[str, Upload] = {}
    for key, value in raw.items():
        if isinstance(value, bytes | bytearray):
            uploads[key] = Upload(key, None, bytes(value))
        else:
            params[key] = value
    return normalize(params), uploads


def resolve_input_file(value: Any, field: str, uploads: dict[str, Upload]) -> Upload | str | None:
    """An InputFile parameter: an Upload, or a string (file_id or URL), or None."""
    if isinstance(value, str) and value.startswith("attach://"):
        upload = uploads.get(value[len("attach://") :])
        if upload is None:
            raise bad_request(f"wrong remote file identifier specified: can't find {value}")
        return upload
    if value is None and field in uploads:
        return uploads[field]
    if isinstance(value, Upload):
        return value
    return value if value else None
