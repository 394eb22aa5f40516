# Debian's python3 on the locally built bookworm base: the app image's base where no
# registry is reachable (scripts/test-deploy). The host's extra CA certificates are in
# the base already; pip may install system-wide (no EXTERNALLY-MANAGED marker).
ARG DEBIAN_IMAGE=rose-ash/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-pip python-is-python3 ca-certificates \
    && update-ca-certificates \
    && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED \
    && rm -rf /var/lib/apt/lists/*
