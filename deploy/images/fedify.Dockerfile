# The Fedify 2.3.6 peer of the interop suite (tests/interop/fedify_peer/server.mjs) on the locally built
# bookworm base, as an independent follower of the deployment test (scripts/test-deploy). The build
# context is made by that script: the peer's server.mjs, package.json and node_modules (from
# scripts/install-fedify.sh) and the Node 22 binary it installed, so nothing is fetched here.
ARG DEBIAN_IMAGE=rose-ash/debian:bookworm
FROM ${DEBIAN_IMAGE}
COPY node /usr/local/bin/node
COPY package.json server.mjs /opt/fedify-peer/
COPY node_modules /opt/fedify-peer/node_modules
WORKDIR /opt/fedify-peer
USER nobody
EXPOSE 8090
CMD ["node", "server.mjs", "--host", "0.0.0.0", "--port", "8090"]
