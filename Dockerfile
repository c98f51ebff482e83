# rxsight, built from this repository: `docker compose build` (docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /opt/rxsight
COPY pyproject.toml README.md ./
COPY rxsight ./rxsight
COPY collector ./collector
COPY rules ./rules
COPY alerts ./alerts
COPY metrics ./metrics
COPY web ./web
COPY simulator ./simulator
RUN pip install . \
    && useradd --system --home-dir /var/lib/rxsight --create-home rxsight
COPY deploy/rxsight-entrypoint.sh /usr/local/bin/rxsight-entrypoint

USER rxsight
# The spool and the lock: one per replica (an anonymous volume each), never shared.
VOLUME /var/lib/rxsight
EXPOSE 8000 4317
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
ENTRYPOINT ["/usr/local/bin/rxsight-entrypoint"]
