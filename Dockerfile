# Multi-stage: front-end libraries from npm, a virtual environment, then a small
# runtime image that runs `switchboard serve` as a non-root user.
FROM node:20-slim AS static
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/build-static.mjs scripts/
RUN mkdir -p app/static && npm ci --no-audit --no-fund && npm run build

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md alembic.ini ./
COPY app ./app
COPY connectors ./connectors
COPY --from=static /src/app/static/vendor ./app/static/vendor
RUN python -m venv /venv \
 && /venv/bin/pip install --no-cache-dir -c constraints.txt .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 switchboard
COPY --from=build /venv /venv
# Templates live beside the package; the app finds them in its working directory.
COPY templates /app/templates
WORKDIR /app
USER switchboard
ENV PATH=/venv/bin:$PATH \
    SWITCHBOARD_HOST=0.0.0.0 \
    SWITCHBOARD_PORT=8000
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["switchboard", "serve"]
