# One image for the portal, the worker and the exporter (the command picks which).
# Front-end packages come from the npm registry at build time; nothing from a CDN.

FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --silent \
 && mkdir -p vendor/fonts \
 && cp node_modules/bootstrap/dist/css/bootstrap.min.css vendor/ \
 && cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js vendor/ \
 && cp node_modules/bootstrap-icons/font/bootstrap-icons.min.css vendor/ \
 && cp node_modules/bootstrap-icons/font/fonts/bootstrap-icons.woff* vendor/fonts/ \
 && cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css vendor/

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1
RUN groupadd --system servermon && useradd --system --gid servermon --home /app servermon
WORKDIR /app
COPY pyproject.toml README.md ./
COPY portal ./portal
COPY exporter ./exporter
COPY wire ./wire
COPY provisioning ./provisioning
COPY alert_rules ./alert_rules
COPY dashboards ./dashboards
COPY docs/runbooks ./docs/runbooks
RUN pip install --no-cache-dir . gunicorn
COPY --from=assets /build/vendor ./portal/static/vendor
RUN mkdir -p /app/var/rules /tmp/metrics && chown -R servermon:servermon /app/var /tmp/metrics
USER servermon
ENV PROMETHEUS_MULTIPROC_DIR=/tmp/metrics
EXPOSE 8000 9117
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os, sys, urllib.request; port = os.environ.get('HEALTH_PORT', '8000'); path = os.environ.get('HEALTH_PATH', '/healthz'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}{path}', timeout=4).status < 400 else 1)"
# The portal listens on 127.0.0.1 unless PORTAL_LISTEN says otherwise (docker-compose.yml
# opens it to nginx's network); portal/gunicorn_conf.py says how it is served.
CMD ["gunicorn", "-c", "portal/gunicorn_conf.py", "portal:create_app()"]
