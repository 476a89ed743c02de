"""The aiohttp side: the webhook, the console, Open311, /healthz and /metrics on one app (DESIGN §7)."""
