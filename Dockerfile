# A slim image that runs casetrack with Uvicorn as a non-root user.
# Data: SQLite in /data by default; set DATABASE_URL=postgresql://... for PostgreSQL
# (then run `casetrack migrate` once per release, e.g. `docker run --rm IMAGE casetrack migrate`;
# compose.yaml does it with a one-shot `migrate` service before the app starts).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite:////data/casetrack.db

WORKDIR /srv/casetrack
RUN useradd --system --uid 10001 --home-dir /srv/casetrack casetrack \
    && mkdir -p /data && chown casetrack /data

# The dependencies first, exactly as locked (hash-checked): this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

# Then the code, installed without dependencies (all of them are in the layer above).
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-deps .

USER casetrack
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["casetrack", "serve", "--host", "0.0.0.0", "--port", "8000"]
