"""The container and the compose file: what a district deploys.

Always checked: compose.yaml names only settings the bot reads, runs it on PostgreSQL in
webhook mode on LISTEN_PORT, and exposes only the proxy. With Docker at hand (the compose
plugin; a daemon and the base image already present — CI never pulls from the internet),
`docker compose config` validates the file and the image builds; otherwise those two skip,
saying why in one line.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from bot.settings import Settings
from web.console import setup_console
from web.open311 import PREFIX as OPEN311_PREFIX
from web.open311 import build_open311

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "compose.yaml"
ENV = {"BOT_TOKEN": "123456:TEST", "PUBLIC_HOST": "huying.example.org", "WEBHOOK_SECRET": "s3cret",
       "POSTGRES_PASSWORD": "pw"}


def setting_names() -> set[str]:
    return {f.validation_alias for f in Settings.model_fields.values()}


def test_compose_runs_the_bot_on_postgres_in_webhook_mode():
    spec = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    bot = spec["services"]["bot"]
    env = bot["environment"]
    assert set(env) <= setting_names(), set(env) - setting_names()
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://") and "@db:5432/" in env["DATABASE_URL"]
    assert env["WEBHOOK_URL"].endswith(env["WEBHOOK_PATH"])
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert [p.split(":")[-1] for p in bot["ports"]] == [env["LISTEN_PORT"]]
    assert all(p.startswith("127.0.0.1:") for p in bot["ports"])  # health and metrics stay private
    caddy = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    assert f"handle {env['WEBHOOK_PATH']}" in caddy and f"reverse_proxy bot:{env['LISTEN_PORT']}" in caddy
    # The console's /console links and Open311 point at the public host, over HTTPS.
    host = env["WEBHOOK_URL"].removeprefix("https://").removesuffix(env["WEBHOOK_PATH"])
    assert env["CONSOLE_URL"] == f"https://{host}/"


def forwarded_paths(caddyfile: str) -> list[str]:
    """The path patterns whose `handle` block proxies to the bot (Caddy's `*` matches on, over /)."""
    named = {m.group(1): m.group(2).split() for m in re.finditer(r"^\s*@(\w+)\s+path\s+(.+)$", caddyfile, re.M)}
    out: list[str] = []
    for m in re.finditer(r"^\s*handle\s+(\S+)\s*\{(.*?)^\s*\}", caddyfile, re.M | re.S):
        if "reverse_proxy bot:" in m.group(2):
            target = m.group(1)
            out += named[target[1:]] if target.startswith("@") else [target]
    return out


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "x", path)


def test_the_proxy_forwards_the_webhook_the_console_and_open311_but_not_health_or_metrics():
    env = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["bot"]["environment"]
    patterns = forwarded_paths((ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8"))

    def forwarded(path: str) -> bool:
        return any(fnmatchcase(path, p) for p in patterns)

    root = web.Application()
    setup_console(root, app=None, bot=None)  # type: ignore[arg-type]  (only the routes are read)
    console = {concrete(r.canonical) for r in root.router.resources()}
    assert {"/", "/login", "/queue", "/tickets/x", "/rates", "/exports/x.xlsx"} <= console
    open311 = {OPEN311_PREFIX + concrete(r.canonical) for r in build_open311(None).router.resources()}  # type: ignore[arg-type]
    assert "/open311/v2/x" in open311
    for path in sorted({env["WEBHOOK_PATH"], *console, *open311, "/open311/v2/requests.json"}):
        assert forwarded(path), f"{path} is not forwarded by deploy/Caddyfile"
    for private in ("/healthz", "/metrics", "/metrics/"):
        assert not forwarded(private), f"{private} must stay on the compose network"


def test_dockerfile_serves_on_the_listen_port_and_checks_healthz():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "LISTEN_PORT=8080" in text and "EXPOSE 8080" in text
    assert "/healthz" in text and 'CMD ["python", "-m", "bot", "run"]' in text
    # The unprivileged user owns /data only: whatever the bot writes must default to there (the
    # console's photo cache under /app was a 500 for every photo).
    assert "DATABASE_URL=sqlite+aiosqlite:////data/" in text and "CONSOLE_CACHE_DIR=/data/console-cache" in text
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".venv" in ignored and ".env" in ignored and "data" in ignored


def _docker(*args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, **ENV})


def _need_compose() -> None:
    if shutil.which("docker") is None:
        pytest.skip("docker is not installed")
    if _docker("compose", "version").returncode != 0:
        pytest.skip("the docker compose plugin is not installed")


def test_docker_compose_config_validates():
    _need_compose()
    result = _docker("compose", "-f", str(COMPOSE), "config", "--quiet")
    assert result.returncode == 0, result.stderr


def test_the_image_builds():
    if shutil.which("docker") is None:
        pytest.skip("docker is not installed")
    if _docker("info").returncode != 0:
        pytest.skip("no usable docker daemon")
    base = next(line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("FROM "))
    if _docker("image", "inspect", base).returncode != 0:
        pytest.skip(f"base image {base} is not present locally (CI never pulls from the internet)")
    result = _docker("build", "--pull=false", "-t", "huying:test", ".", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
