# Huying: the bot, its web surfaces (webhook, /healthz, /metrics) on LISTEN_PORT.
# Everything it writes (the SQLite file, the console's photo cache) goes to /data, the one
# directory the unprivileged user owns: /app is root's.
#   docker build -t huying .
#   docker run --env-file .env -v "$PWD/config:/config:ro" -p 127.0.0.1:8080:8080 huying
# compose.yaml runs it on PostgreSQL in webhook mode; see README "Going live".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LISTEN_HOST=0.0.0.0 \
    LISTEN_PORT=8080 \
    HUYING_ORG_FILE=/config/org.yaml \
    DATABASE_URL=sqlite+aiosqlite:////data/huying.sqlite3 \
    CONSOLE_CACHE_DIR=/data/console-cache

WORKDIR /app
# The source tree stays in /app (an editable install): the locales and the chart font are read
# from beside the code, and `python -m bot` resolves to it.
COPY . /app
RUN pip install -e '.[postgres]' \
 && pybabel compile -d locales -D messages \
 && mkdir -p /config /data \
 && cp config/org.example.yaml /config/org.yaml \
 && useradd --system --uid 10001 --home-dir /data huying \
 && chown -R huying /data /config

USER huying
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('LISTEN_PORT', '8080'), timeout=4)"
# SIGTERM (docker stop) is a graceful stop: updates in flight finish, nothing is lost.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot", "run"]
