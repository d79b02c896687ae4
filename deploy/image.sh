#!/usr/bin/env bash
# Builds the lab image (deploy/Dockerfile) from a scalanytics binary
# built on this host: copies the binary, the shared libraries `ldd` lists
# for it and the dynamic loader into a fresh build context and runs
# `docker build` there. FROM scratch: nothing is pulled, the build runs
# with no network, and no base image has to exist locally.
#
# usage: deploy/image.sh [SCALANYTICS [TAG]]
#   SCALANYTICS  the binary (default build/scalanytics)
#   TAG          the image (default scalanytics-lab:latest, the name
#                docker-compose.yml uses)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/scalanytics}
tag=${2:-scalanytics-lab:latest}
[ -x "$bin" ] || { echo "image.sh: $bin is not an executable (build it first)" >&2; exit 2; }

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
fs=$ctx/rootfs
mkdir -p "$fs/usr/local/bin" "$fs/tmp" "$fs/lab"
chmod 1777 "$fs/tmp"
cp "$bin" "$fs/usr/local/bin/scalanytics"

# Every library at the path ldd resolved it to ("name => /path (addr)"),
# and the loader at the path the binary names ("/lib64/ld-... (addr)");
# cp -L copies the file a symlink points to under the symlink's name.
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
[ -n "$libs" ] || { echo "image.sh: ldd listed no libraries for $bin (a static binary needs none)" >&2; }
for lib in $libs; do
  mkdir -p "$fs$(dirname "$lib")"
  cp -L "$lib" "$fs$lib"
done
if ldd "$bin" | grep -q 'not found'; then
  echo "image.sh: ldd cannot resolve every library of $bin:" >&2
  ldd "$bin" | grep 'not found' >&2
  exit 1
fi

cp -r "$root/programs" "$fs/lab/programs"
cp "$root/deploy/lab.conf" "$fs/lab/lab.conf"
cp "$root/deploy/Dockerfile" "$ctx/Dockerfile"

# The legacy builder: it needs no buildx plugin and, FROM scratch, no
# network at all.
if ! DOCKER_BUILDKIT=0 docker build --network none -q -t "$tag" "$ctx" >"$ctx/build.log" 2>&1; then
  cat "$ctx/build.log" >&2
  echo "image.sh: docker build failed" >&2
  exit 1
fi
echo "image.sh: built $tag ($(du -sh "$fs" | cut -f1) in $(echo "$libs" | wc -w) libraries and the binary)"
