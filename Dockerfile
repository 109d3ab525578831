# Ringround's container image: one image for the app servers and the task worker
# (deploy/compose.yaml runs it). Small (python:3.11-slim, no compilers: every dependency has a
# wheel), runs as a non-root user, static files collected and compressed at build time, and a
# health check on /api/v1/health. Its build is not part of CI: the test machines cannot pull
# base images. deploy/local-cluster runs the same services without containers, and the suite
# tests that (tests/deploy/).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RINGROUND_DATA=/data \
    STATIC_ROOT=/app/static

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . \
 && useradd --system --uid 10001 --home-dir /data --create-home ringround \
 && SECRET_KEY=build-only RINGROUND_DATA=/tmp/build python -c \
      "from ringround import cli; cli._setup_django(); cli._collect_static()" \
 && rm -rf /tmp/build src

USER ringround
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=2)"
CMD ["ringround", "serve", "--host", "0.0.0.0", "--port", "8000"]
