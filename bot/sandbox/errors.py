"""Bot API errors in Telegram's exact wire shape.

aiogram picks its exception class from the HTTP status plus ``parameters``, so the
status code, the description text and the parameters all have to match Telegram's.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raised inside a method handler; the dispatcher turns it into the JSON answer."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class SandboxError(Exception):
    """Misuse of the sandbox's own Python/control API (e.g. pressing a missing button)."""


def bad_request(what: str) -> ApiError:
    return ApiError(400, f"Bad Request: {what}")


def forbidden(what: str) -> ApiError:
    return ApiError(403, f"Forbidden: {what}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


CHAT_NOT_FOUND = "chat not found"
THREAD_NOT_FOUND = "message thread not found"
REPLY_NOT_FOUND = "message to be replied not found"
EDIT_NOT_FOUND = "message to edit not found"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
WRONG_FILE_ID = "wrong file identifier/HTTP URL specified"
