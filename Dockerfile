# Bastion's container image: one image for the web servers and the worker (compose.yaml).
# Build: docker build -t bastion .   Every Python dependency comes from the pinned requirements.lock.
FROM python:3.11-slim-bookworm

# pg_dump and pg_restore for `bastion backup` / `bastion restore` against PostgreSQL.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --home-dir /var/lib/bastion --create-home bastion

WORKDIR /opt/bastion
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY src ./src
RUN pip install --no-cache-dir --no-deps .

ENV BASTION_DATA_DIR=/var/lib/bastion \
    PYTHONUNBUFFERED=1
USER bastion
VOLUME /var/lib/bastion
EXPOSE 8000

# SIGTERM is Bastion's graceful stop: workers finish their requests and flush buffered downloads
# (allow it 20 s: `docker stop --time 20`, compose's stop_grace_period).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
CMD ["bastion", "serve", "--bind", "0.0.0.0:8000"]
