# syntax=docker/dockerfile:1
# One image for web, worker and scheduler; Compose picks the command.

FROM python:3.11-slim-bookworm AS build
LABEL org.opencontainers.image.title=paperless-dedupe
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml ./
COPY dedupe_project/__init__.py dedupe_project/__init__.py
# Dependencies first, so code (and README) changes don't reinstall them; the package metadata
# only needs a README to exist here, the real one comes with the code.
RUN : > README.md && pip install . && pip uninstall -y paperless-dedupe
COPY . .
RUN pip install --no-deps . \
 && python -m dedupe_project.vendor \
 && DEDUPE_ENVIRONMENT=production DEDUPE_ALLOWED_HOSTS=build DEDUPE_DATA_DIR=/tmp/build \
    DEDUPE_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    DEDUPE_STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput

FROM python:3.11-slim-bookworm AS runtime
LABEL org.opencontainers.image.title=paperless-dedupe
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DEDUPE_ENVIRONMENT=production \
    DEDUPE_DATA_DIR=/data \
    DEDUPE_STATIC_ROOT=/app/staticfiles \
    PORT=8000
RUN groupadd --system --gid 1000 dedupe \
 && useradd --system --uid 1000 --gid dedupe --home-dir /app --shell /usr/sbin/nologin dedupe \
 && mkdir -p /data && chown dedupe:dedupe /data
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=dedupe:dedupe /app /app
USER dedupe
VOLUME ["/data"]
EXPOSE 8000
# Liveness without curl: the command asks the local web server for /health/live.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["python", "manage.py", "probe", "live"]
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py ensure_admin && exec python manage.py serve --host 0.0.0.0 --port ${PORT}"]
