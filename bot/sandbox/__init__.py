"""Built-in Telegram sandbox: an aiohttp server speaking the Bot API subset Huying uses.

The real aiogram Bot talks to it over HTTP::

    sb = TelegramSandbox(bot_token="123456:TEST", bot_username="huying_bot")
    await sb.start()
    bot = Bot(sb.token, session=AiohttpSession(api=TelegramAPIServer.from_base(sb.base_url)))

Stands alone: imports nothing from the rest of the project.
"""

from .api import Call
from .errors import ApiError, SandboxError
from .server import SandboxTimeout, TelegramSandbox

__all__ = ["ApiError", "Call", "SandboxError", "SandboxTimeout", "TelegramSandbox"]
