"""Runtime settings from the environment or `.env` (DESIGN §6).

Every setting has a clear name; a missing or malformed one is reported in one
line by `bot.__main__`, never as a traceback.
"""
from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB = "sqlite+aiosqlite:///./data/huying.sqlite3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    bot_token: str = Field(default="", validation_alias="BOT_TOKEN")
    database_url: str = Field(default=DEFAULT_DB, validation_alias="DATABASE_URL")
    telegram_api_url: str | None = Field(default=None, validation_alias="TELEGRAM_API_URL")
    org_file: Path = Field(default=Path("config/org.example.yaml"), validation_alias="HUYING_ORG_FILE")
    timezone: str | None = Field(default=None, validation_alias="HUYING_TIMEZONE")
    default_locale: str | None = Field(default=None, validation_alias="HUYING_LOCALE")
    webhook_url: str | None = Field(default=None, validation_alias="WEBHOOK_URL")
    webhook_secret: str | None = Field(default=None, validation_alias="WEBHOOK_SECRET")
    webhook_path: str = Field(default="/telegram/webhook", validation_alias="WEBHOOK_PATH")
    listen_host: str = Field(default="0.0.0.0", validation_alias="LISTEN_HOST")
    listen_port: int = Field(default=8080, ge=0, le=65535, validation_alias="LISTEN_PORT")
    # The console's public base (its root); Open311 lives under {CONSOLE_URL}open311/v2/.
    console_url: str | None = Field(default=None, validation_alias="CONSOLE_URL")
    console_cache_dir: Path = Field(default=Path("data/console-cache"), validation_alias="CONSOLE_CACHE_DIR")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    # Outbox pacing: Telegram's limits as the Bot API FAQ states them (30 msg/s overall, 1 msg/s per
    # chat, 20 msg/min per group). The flood gate keeps them exactly (bot/ratelimit.py), so no margin here.
    # A rate of 0 would mean "send nothing", never "no limit": refused, as a negative one is.
    outbox_global_per_second: float = Field(default=30.0, gt=0, validation_alias="OUTBOX_GLOBAL_PER_SECOND")
    outbox_chat_interval: float = Field(default=1.0, ge=0, validation_alias="OUTBOX_CHAT_INTERVAL")
    outbox_group_per_minute: int = Field(default=20, gt=0, validation_alias="OUTBOX_GROUP_PER_MINUTE")
    album_debounce: float = Field(default=1.5, validation_alias="ALBUM_DEBOUNCE_SECONDS")
    run_scheduler: bool = Field(default=True, validation_alias="RUN_SCHEDULER")
    # Extra admins on top of the org file's `admins:` (comma-separated Telegram user ids), so a
    # first deployment can /bind its chats before anyone edits the org file.
    admins: str = Field(default="", validation_alias="HUYING_ADMINS")
    # The inbox: how many updates are handled at once (default: the database pool's size),
    # and how often a failing update is tried before it is parked as dead.
    inbox_workers: int | None = Field(default=None, ge=1, validation_alias="INBOX_WORKERS")
    inbox_max_attempts: int = Field(default=6, ge=1, validation_alias="INBOX_MAX_ATTEMPTS")

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, v: str) -> str:
        if v and (":" not in v or not v.split(":", 1)[0].isdigit()):
            raise ValueError("must look like 123456:ABC-DEF… (the token @BotFather gave you)")
        return v

    @field_validator("admins")
    @classmethod
    def _admin_ids(cls, v: str) -> str:
        parts = [p.strip() for p in v.split(",") if p.strip()]
        if not all(p.isdigit() and 0 < int(p) < 2**63 for p in parts):  # two ids run together overflow
            raise ValueError("expected Telegram user ids separated by commas, like 12345,67890 "
                             "(send /id to the bot to learn yours)")
        return ",".join(parts)

    @property
    def admin_ids(self) -> list[int]:
        return [int(p) for p in self.admins.split(",") if p]

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, v: str) -> str:
        """Accept the plain spellings deployments use and pick the async driver."""
        for plain, driver in (("postgres://", "postgresql+asyncpg://"), ("postgresql://", "postgresql+asyncpg://"),
                              ("sqlite://", "sqlite+aiosqlite://")):
            if v.startswith(plain):
                return driver + v[len(plain):]
        if not v.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("DATABASE_URL must be sqlite+aiosqlite:///… or postgresql+asyncpg://…")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        if not v:
            return None
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r}; write one like Asia/Shanghai") from None
        return v

    @field_validator("default_locale")
    @classmethod
    def _shipped_locale(cls, v: str | None) -> str | None:
        if not v:
            return None
        if not v.replace("-", "_").lower().startswith(("zh", "en")):  # bot.i18n.normalize_locale's rule
            raise ValueError(f"no catalogue for {v!r}: write zh or en")
        return v

    @field_validator("webhook_url")
    @classmethod
    def _webhook_address(cls, v: str | None) -> str | None:
        if v and not v.startswith(("https://", "http://")):
            raise ValueError("WEBHOOK_URL must be the https:// address Telegram posts to")
        return v

    @field_validator("webhook_secret")
    @classmethod
    def _secret_alphabet(cls, v: str | None, info: ValidationInfo) -> str | None:
        # Telegram's rule for secret_token: 1–256 characters of A-Z, a-z, 0-9, _ and -. Only a
        # webhook sends it; a polling deployment's leftover secret is none of Telegram's business.
        if v and info.data.get("webhook_url") and (len(v) > 256 or not all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in v)):
            raise ValueError("WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and - (at most 256), as Telegram asks")
        return v

    @field_validator("telegram_api_url")
    @classmethod
    def _api_address(cls, v: str | None) -> str | None:
        # Without a scheme aiohttp's error quotes the whole request URL, the token in it.
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("TELEGRAM_API_URL must start with http:// or https:// (a local Bot API server's address)")
        return v

    @field_validator("webhook_path")
    @classmethod
    def _webhook_route(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("WEBHOOK_PATH must start with / (like /telegram/webhook)")
        return v

    @field_validator("console_url")
    @classmethod
    def _console_base(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError("CONSOLE_URL must start with http:// or https://")
        return v.rstrip("/") + "/"

    @field_validator("webhook_url", "telegram_api_url", "webhook_secret", "console_url", mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return None if v == "" else v

    def require_token(self) -> str:
        if not self.bot_token:
            raise SettingsError("BOT_TOKEN is not set: put the bot's token from @BotFather in BOT_TOKEN")
        return self.bot_token


class SettingsError(Exception):
    """A setting is missing or wrong; the message is one line naming it."""
