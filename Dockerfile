# Multi-stage: build a virtual environment, then run it as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md alembic.ini ./
COPY app ./app
COPY connectors ./connectors
RUN python -m venv /venv \
 && /venv/bin/pip install --no-cache-dir -c constraints.txt .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 switchboard
COPY --from=build /venv /venv
WORKDIR /home/switchboard
USER switchboard
ENV PATH=/venv/bin:$PATH \
    SWITCHBOARD_HOST=0.0.0.0 \
    SWITCHBOARD_PORT=8000
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["switchboard", "serve"]
