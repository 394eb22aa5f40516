# Rose Ash peer image: one image for all three peers (blog, events, shop) and
# their delivery workers; the kind is chosen at run time (ROSE_ASH_KIND / --kind).
# BASE_IMAGE: any image with Python 3.11+ and pip; scripts/test-deploy passes one
# built from Debian's python3 (deploy/images/) where no registry is reachable.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ROSE_ASH_DATA_DIR=/data

WORKDIR /src
# The build context is filtered by .dockerignore (no .git, tests, deploy files).
COPY . /src
# The door's camera QR scanner comes from the npm registry, checked against its pinned hash (no Node needed).
# constraints.txt pins every release to what the tests ran on (scripts/setup-venv.sh).
RUN python3 scripts/install-scanner.py \
    && pip install -c constraints.txt . \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home rose \
    && mkdir -p /data \
    && chown rose:rose /data

USER rose
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000

# The health check lives in docker-compose.yml (python -c urllib, since the
# slim image has no curl) and not here, so that the worker containers, which
# run the same image without an HTTP server, are not marked unhealthy.
# The server must listen on all interfaces inside a container.
CMD ["rose-ash", "serve", "--host", "0.0.0.0", "--port", "8000"]
