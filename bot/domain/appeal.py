"""What an appeal carries before it is a ticket: plain values the handlers fill from a message."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Photo:
    file_id: str
    file_unique_id: str
    kind: str = "photo"


@dataclass
class Appeal:
    chat_id: int
    chat_kind: str  # community | private
    message_id: int
    user_id: int
    text: str
    thread_id: int | None = None
    kind: str | None = None
    photos: list[Photo] = field(default_factory=list)
    location: tuple[float, float] | None = None
    media_group_id: str | None = None
    area_code: str | None = None
    on_behalf_kind: str | None = None
    on_behalf_user_id: int | None = None
    on_behalf_name: str | None = None
    channel: str = "telegram"
    urgent: bool = False  # #紧急 / #urgent said so (the urgent words are the router's)
    # A reply to another ticket's message that raised a matter of its own (issue #11).
    related_to: int | None = None


def is_reporter(user_id: int | None, reporter_id: int | None, on_behalf_user_id: int | None) -> bool:
    """Who speaks for a ticket: the person who posted it (a volunteer posting on someone's behalf
    included) or the person it was posted for. The one definition every check uses."""
    return user_id is not None and user_id in {reporter_id, on_behalf_user_id} - {None}


@dataclass
class ChannelAppeal:
    """An appeal another channel filed (Open311): no chat, no Telegram person; the channel chose
    the service, so its category and departments come with it."""

    channel: str
    text: str
    kind: str
    category: str
    lead: str
    co: list[str] = field(default_factory=list)
    area_code: str | None = None
    location: tuple[float, float] | None = None
