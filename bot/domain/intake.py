"""Does a message make an appeal? (DESIGN §5 intake triggers) — pure, over plain facts."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.domain.agreement import ReplyFacts, Verdict, classify

HASHTAG_KINDS = {
    "诉求": None,
    "appeal": None,
    "求助": "help",
    "投诉": "complaint",
    "建议": "suggestion",
    "咨询": "consultation",
    "举报": "report",
    "report": "report",
    "紧急": None,
    "urgent": None,
}
# Hashtags that mark an appeal urgent (seed 004 应急) on top of the urgent words.
URGENT_TAGS = frozenset({"紧急", "urgent"})
# Telegram caps a message at 4096 characters; an appeal this long is kept whole,
# but cards and acknowledgements show a summary.
SUMMARY_CHARS = 120
MIN_APPEAL_CHARS = 2


@dataclass(frozen=True)
class MessageFacts:
    """What intake needs to know about a message, without Telegram types."""

    text: str = ""
    command: str | None = None  # 'appeal' for '/appeal@huying_bot …'
    command_args: str = ""
    mentions_bot: bool = False
    hashtags: tuple[str, ...] = ()
    reply_to_bot: bool = False
    has_photos: bool = False
    has_location: bool = False
    is_forward: bool = False
    sender_is_volunteer: bool = False
    in_album: bool = False


@dataclass(frozen=True)
class Decision:
    action: str  # appeal | empty | ignore
    text: str = ""
    kind: str | None = None
    on_behalf: bool = False
    reasons: tuple[str, ...] = field(default_factory=tuple)
    urgent: bool = False  # #紧急 / #urgent (the urgent words are the router's)


def meaningful_chars(text: str) -> int:
    """Letters and digits: an emoji with a skin tone (👍🏻) or two (😡😡) is several code points and
    says nothing a department could act on."""
    return sum(ch.isalnum() for ch in text)


def says_something(text: str) -> bool:
    """A matter of its own, not agreement or chatter (bot/domain/agreement.py draws the line)."""
    return classify(ReplyFacts(text=text)).verdict is Verdict.SUBSTANCE


_MENTION_RE = re.compile(r"@\w+")
_HASHTAG_RE = re.compile(r"#(\w+)")


# Chinese is written without spaces, and Telegram takes the whole run of letters after "#" as
# the hashtag: "#紧急老人摔倒了" is the tag 紧急 and then the appeal. A Chinese tag is therefore
# read as a prefix (the longest wins); a Latin one must be the whole word (#reporting is not #report).
_TAGS_LONGEST_FIRST = sorted(HASHTAG_KINDS, key=len, reverse=True)
_LEADING_PUNCTUATION = "：:，,、。.；; "


def known_tag(tag: str) -> str | None:
    """The trigger hashtag a hashtag's text (without "#") is or starts with; None: not one."""
    tag = tag.lower()
    for known in _TAGS_LONGEST_FIRST:
        if tag == known or (not known.isascii() and tag.startswith(known)):
            return known
    return None


def strip_triggers(text: str, bot_username: str) -> str:
    """The appeal's words without the mention of the bot and the trigger hashtags (what follows
    a Chinese tag in the same run of letters is the appeal's, and stays)."""
    text = re.sub(rf"@{re.escape(bot_username)}\b", " ", text, flags=re.IGNORECASE)

    def untag(m: re.Match) -> str:
        known = known_tag(m.group(1))
        return m.group(0) if known is None else " " + m.group(1)[len(known):]

    text = " ".join(_HASHTAG_RE.sub(untag, text).split())
    return text.lstrip(_LEADING_PUNCTUATION)


def hashtag_urgent(hashtags: tuple[str, ...]) -> bool:
    return any(known_tag(tag.lstrip("#")) in URGENT_TAGS for tag in hashtags)


def hashtag_kind(hashtags: tuple[str, ...]) -> tuple[bool, str | None]:
    hit, kind = False, None
    for tag in hashtags:
        known = known_tag(tag.lstrip("#"))
        if known is not None:
            hit = True
            kind = kind or HASHTAG_KINDS[known]
    return hit, kind


def decide(facts: MessageFacts, bot_username: str, *, community: bool) -> Decision:
    """Decide what a message in a community chat (or private chat) means for intake."""
    tag_hit, tag_kind = hashtag_kind(facts.hashtags)
    reasons: list[str] = []
    if facts.command == "appeal":
        reasons.append("command")
        body = strip_triggers(facts.command_args, bot_username)
    else:
        if facts.mentions_bot:
            reasons.append("mention")
        if facts.reply_to_bot:
            reasons.append("reply")
        if tag_hit:
            reasons.append("hashtag")
        if facts.is_forward and facts.sender_is_volunteer:
            reasons.append("forward")
        if not community and not facts.command:
            reasons.append("private")
        body = strip_triggers(facts.text, bot_username)
    if not reasons:
        return Decision("ignore")
    if reasons == ["reply"] and not (facts.has_photos or facts.has_location) and not says_something(body):
        # "+1" / "谢谢" to a bot message that is no ticket's: nothing to file (issue #11).
        return Decision("ignore")
    if meaningful_chars(body) < MIN_APPEAL_CHARS and not facts.has_photos and not facts.has_location:
        return Decision("empty", reasons=tuple(reasons))
    return Decision(
        "appeal",
        text=body,
        kind=tag_kind,
        on_behalf="forward" in reasons,
        reasons=tuple(reasons),
        urgent=hashtag_urgent(facts.hashtags) or hashtag_urgent(tuple(_HASHTAG_RE.findall(facts.command_args))),
    )


def summary(text: str, limit: int = SUMMARY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
