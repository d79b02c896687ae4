#!/usr/bin/env bash
# Scalanytics set-up: installs the Debian packages it needs (only those
# missing), builds into build/, then runs the main job or every test.
#
#   ./setup.sh          install, build, run the SMTP pipeline on a bundled capture
#   ./setup.sh test     install, build plain + ASan/UBSan + TSan, run all tests
#
# Idempotent; runs as root without prompting (or uses sudo when not root).
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-run}
jobs=$(nproc 2>/dev/null || echo 2)

packages=(build-essential cmake pkg-config clang libclang-rt-14-dev
  libzmq3-dev libprotobuf-c-dev protobuf-c-compiler libpcap-dev
  libnids-dev libnet1-dev libglib2.0-dev libosip2-dev libsvm-dev libpcre2-dev)
# The Docker lab's test (tests/docker_lab.sh) drives Debian's docker-compose;
# it is only worth installing where a Docker engine is.
if command -v dockerd >/dev/null 2>&1; then packages+=(docker-compose); fi

install_missing() {
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# build DIR [CMAKE ARGS...]
build() {
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSX_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

install_missing
case "$mode" in
run)
  build build
  echo "setup: built build/scalanytics; running the main job: the SMTP pipeline on the bundled"
  echo "setup: capture of real SMTP clients (tests/fixtures/smtp_real.pcap), reporting the mails"
  echo "setup: that contain 'scalanytics-fixture-phrase' in their headers or decoded body"
  build/scalanytics run programs/smtp.analog --param PATTERN=scalanytics-fixture-phrase \
    --read tests/fixtures/smtp_real.pcap --out build/smtp-matches.jsonl
  echo "setup: $(wc -l <build/smtp-matches.jsonl) matching mails, one JSON line each, in build/smtp-matches.jsonl"
  ;;
test)
  status=0
  # name, build dir, cmake args, ctest filter (sanitizer builds skip none)
  for variant in plain:build: asan:build-asan:-DSX_SANITIZE=address tsan:build-tsan:-DSX_SANITIZE=thread; do
    IFS=: read -r name dir arg <<<"$variant"
    echo "=== $name build ($dir) ==="
    build "$dir" $arg
    if ! (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600); then
      echo "setup: $name tests FAILED"
      status=1
    fi
  done
  exit $status
  ;;
*)
  echo "usage: ./setup.sh [run|test]" >&2
  exit 2
  ;;
esac
