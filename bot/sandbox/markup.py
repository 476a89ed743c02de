"""Checks Telegram applies to outgoing text and keyboards.

Text is stored exactly as sent, but malformed HTML/MarkdownV2 and oversized
callback_data are refused like the real API does: these are the bugs (unescaped user
text inside HTML, ticket payloads in callback_data) a sandbox must surface.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import bad_request

HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)?([^<>]*)>")
_MD2_RESERVED = set(">#+-=|{}.!")
BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

URL_SCHEMES = ("http://", "https://", "tg://")
# The emoji a bot may react with (Bot API ReactionTypeEmoji); anything else is REACTION_INVALID.
STANDARD_REACTIONS = frozenset(
    "❤ 👍 👎 🔥 🥰 👏 😁 🤔 🤯 😱 🤬 😢 🎉 🤩 🤮 💩 🙏 👌 🕊 🤡 🥱 🥴 😍 🐳 ❤‍🔥 🌚 🌭 💯 🤣 ⚡ 🍌 🏆 "
    "💔 🤨 😐 🍓 🍾 💋 🖕 😈 😴 😭 🤓 👻 👨‍💻 👀 🎃 🙈 😇 😨 🤝 ✍ 🤗 🫡 🎅 🎄 ☃ 💅 🤪 🗿 🆒 💘 🙉 🦄 "
    "😘 💊 🙊 😎 👾 🤷‍♂ 🤷 🤷‍♀ 😡".split()
)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _entities_error(what: str) -> Exception:
    return bad_request(f"can't parse entities: {what}")


def check_html(text: str) -> None:
    stack: list[tuple[str, int]] = []
    i = 0
    while (lt := text.find("<", i)) != -1:
        m = _TAG.match(text, lt)
        if m is None or m.group(2) is None:
            raise _entities_error(
                f'Unsupported start tag "" at byte offset {_byte_offset(text, lt)}'
            )
        closing, name = m.group(1), m.group(2).lower()
        if name not in HTML_TAGS:
            kind = "end" if closing else "start"
            raise _entities_error(
                f'Unsupported {kind} tag "{name}" at byte offset {_byte_offset(text, lt)}'
            )
        if closing:
            if not stack or stack[-1][0] != name:
                raise _entities_error(
                    f"Unmatched end tag at byte offset {_byte_offset(text, lt)}, expected "
                    f'"</{stack[-1][0] if stack else ""}>", found "</{name}>"'
                )
            stack.pop()
        else:
            stack.append((name, lt))
        i = m.end()
    if stack:
        name, at = stack[-1]
        raise _entities_error(
            f'Can\'t find end tag corresponding to start tag "{name}" at byte offset '
            f"{_byte_offset(text, at)}"
        )


def check_markdown_v2(text: str) -> None:
    """Only the reserved-character rule: the mistake bots make with user text."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "`":  # code spans need no escaping inside
            fence = "```" if text.startswith("```", i) else "`"
            end = text.find(fence, i + len(fence))
            i = n if end == -1 else end + len(fence)
            continue
        if ch == "]" and text.startswith("](", i):  # link target
            end = text.find(")", i + 2)
            i = n if end == -1 else end + 1
            continue
        if ch in _MD2_RESERVED:
            allowed = (
                (ch == ">" and (i == 0 or text[i - 1] == "\n"))
                or (ch == "|" and (text.startswith("||", i) or text[i - 1 : i + 1] == "||"))
                or (ch == "!" and text.startswith("![", i))
            )
            if not allowed:
                raise _entities_error(
                    f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
                )
        i += 1


def check_text(text: str | None, parse_mode: str | None, *, caption: bool = False) -> None:
    limit, what = (
        (1024, "message caption is too long") if caption else (4096, "message is too long")
    )
    if text is None:
        return
    if len(text) > limit:
        raise bad_request(what)
    mode = (parse_mode or "").lower()
    if mode == "html":
        check_html(text)
    elif mode == "markdownv2":
        check_markdown_v2(text)


def check_reply_markup(markup: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(inline markup stored on the message, other keyboard kept as sandbox metadata)."""
    if not markup:
        return None, None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None, markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("text buttons are unallowed in the inline keyboard")
            actions = [a for a in BUTTON_ACTIONS if a in button]
            if len(actions) != 1:
                raise bad_request("text buttons are unallowed in the inline keyboard")
            if "url" in button and not str(button["url"]).startswith(URL_SCHEMES):
                raise bad_request("BUTTON_URL_INVALID")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
    if not any(rows):
        return None, None  # an empty inline keyboard removes it
    return {"inline_keyboard": rows}, None


def button_rows(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return ((message.get("reply_markup") or {}).get("inline_keyboard")) or []
