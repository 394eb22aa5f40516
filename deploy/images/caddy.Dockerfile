# Caddy from Debian's package on the locally built bookworm base: the TLS reverse proxy of the
# deployment test (scripts/test-deploy), where no registry is reachable. It runs as root in the
# container to bind 443; its data (and any state) stays in the container.
ARG DEBIAN_IMAGE=rose-ash/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends caddy \
    && rm -rf /var/lib/apt/lists/*
ENV XDG_DATA_HOME=/var/lib/caddy XDG_CONFIG_HOME=/etc/caddy
EXPOSE 443
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
