#!/usr/bin/env bash
# Make this machine build, run and push images with podman, as the tests need:
#   - podman, runc, debootstrap and Debian's docker-registry installed when missing;
#   - a containers.conf (runc; ulimits this sandbox allows) and a registries.conf
#     that lets podman push to a registry on loopback over plain HTTP;
#   - a stand-in for the official python:<version>-slim base image when no image
#     registry can be reached: Debian bookworm (minbase) with its python3 (3.11),
#     pip and venv, tagged docker.io/library/python:3.11-slim. It is a test
#     fixture that imitates the official slim image, not the official image.
# Prints the environment to use: eval "$(tests/containers/setup.sh STATE_DIR)".
set -euo pipefail
STATE=${1:?usage: $0 STATE_DIR}
mkdir -p "$STATE"; STATE=$(cd "$STATE" && pwd)
BASE_IMAGE=docker.io/library/python:3.11-slim
export DEBIAN_FRONTEND=noninteractive

need=()
for tool in podman runc debootstrap curl; do command -v "$tool" >/dev/null || need+=("$tool"); done
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

NOFILE=$(ulimit -Hn); NPROC=$(ulimit -Hu)
[ "$NOFILE" = unlimited ] && NOFILE=1048576
{ [ "$NPROC" = unlimited ] || [ "$NPROC" -gt 32768 ]; } && NPROC=32768
cat > "$STATE/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$NOFILE:$NOFILE", "nproc=$NPROC:$NPROC"]
[engine]
runtime = "runc"
CONF
cat > "$STATE/registries.conf" <<'CONF'
unqualified-search-registries = ["docker.io"]
[[registry]]
location = "127.0.0.1"
insecure = true
[[registry]]
location = "localhost"
insecure = true
CONF
export CONTAINERS_CONF=$STATE/containers.conf CONTAINERS_REGISTRIES_CONF=$STATE/registries.conf

if ! podman image exists "$BASE_IMAGE"; then
  echo "building the stand-in $BASE_IMAGE (debootstrap, about a minute)" >&2
  SOURCES=/etc/apt/sources.list.d/debian.sources
  MIRROR=$(awk '/^URIs:/ {print $2; exit}' "$SOURCES" 2>/dev/null || true)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
  WORK=$(mktemp -d "$STATE/base.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  debootstrap --variant=minbase bookworm "$WORK/rootfs" "$MIRROR" >&2
  tar -C "$WORK/rootfs" -c . | podman import -q - localhost/debian:bookworm-minbase >/dev/null
  rm -rf "$WORK/rootfs"
  mkdir -p "$WORK/context/certs"
  if [ -f "$SOURCES" ]; then cp "$SOURCES" "$WORK/context/debian.sources"
  else echo "deb $MIRROR bookworm main" > "$WORK/context/debian.sources"; fi
  cp /usr/local/share/ca-certificates/*.crt "$WORK/context/certs/" 2>/dev/null || true  # egress CA, if any
  touch "$WORK/context/certs/.keep"
  cat > "$WORK/context/Containerfile" <<'CF'
FROM localhost/debian:bookworm-minbase
COPY debian.sources /etc/apt/sources.list.d/debian.sources
COPY certs/ /usr/local/share/ca-certificates/
RUN rm -f /etc/apt/sources.list /usr/local/share/ca-certificates/.keep \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 python3-pip python3-venv \
 && update-ca-certificates \
 && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED \
 && ln -sf /usr/bin/python3 /usr/local/bin/python && ln -sf /usr/bin/pip3 /usr/local/bin/pip \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
ENV LANG=C.UTF-8 SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
CF
  podman build -q -t "$BASE_IMAGE" "$WORK/context" >&2
fi
echo "export CONTAINERS_CONF=$CONTAINERS_CONF CONTAINERS_REGISTRIES_CONF=$CONTAINERS_REGISTRIES_CONF"
