#!/usr/bin/env bash
# The Docker lab (issue 6): builds the image (deploy/image.sh, FROM
# scratch, nothing pulled), brings docker-compose.yml up with
# deploy/lab.conf -- capture, analyzer1 and analyzer2 sharing the
# partitioned stage, collector -- on a generated trace, waits for every
# node to finish, and checks that the collector's alerts equal the
# single-process run's byte for byte and that both analyzers got work.
# The lab is always brought down, the image removed, and a dockerd this
# test started stopped by its PID.
#
# Skips (77) with a message when docker or docker-compose is missing, or
# when no Docker engine answers and none can be started here (not root,
# or dockerd fails, as in an unprivileged CI container). A dockerd started
# here runs with --iptables=false --ip-forward=false, so it leaves the
# host's FORWARD policy and ip_forward alone (the lab needs neither: its
# containers only talk to each other on one bridge).
# usage: docker_lab.sh SCALANYTICS [MAILS]
set -u
bin=$(realpath "$1") mails=${2:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
proj=sxlab$$
tag=scalanytics-lab:test-$$
dockerd_pid=
lab_up=

cleanup() {
  if [ -n "$lab_up" ]; then
    lab down -v --remove-orphans >/dev/null 2>&1 || echo "warning: docker-compose down failed"
  fi
  docker image rm -f "$tag" >/dev/null 2>&1
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null
    timeout 30 tail --pid="$dockerd_pid" -f /dev/null || kill -9 "$dockerd_pid" 2>/dev/null
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
skip() { echo "SKIP docker.lab: $*"; exit 77; }
fail() {
  echo "FAIL: $*"
  [ -n "$lab_up" ] && lab logs --no-color 2>&1 | tail -n 60
  exit 1
}
lab() {
  SX_LAB_IMAGE=$tag SX_LAB_TRACE=$dir/t.pcap SX_LAB_PATTERN=needle SX_LAB_OUT=$dir/out \
    SX_LAB_USER=$(id -u):$(id -g) docker-compose -f "$root/docker-compose.yml" "${extra[@]}" -p "$proj" "$@"
}
# A sanitizer build's options (ctest sets them: TSan's name a suppressions
# file in tests/) reach the containers through an override file, with
# tests/ mounted at the same path; the lab's own file stays as users run it.
extra=()
sanitizer_env=()
for v in ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS; do [ -n "${!v:-}" ] && sanitizer_env+=("$v"); done
if [ ${#sanitizer_env[@]} -gt 0 ]; then
  {
    echo "services:"
    for svc in capture analyzer1 analyzer2 collector; do
      echo "  $svc:"
      echo "    environment: [$(IFS=,; echo "${sanitizer_env[*]}")]"
      echo "    volumes: [\"$root/tests:$root/tests:ro\"]"
    done
  } >"$dir/sanitizer.yml"
  extra=(-f "$dir/sanitizer.yml")
fi

command -v docker >/dev/null || skip "no docker command (Debian: apt-get install docker.io)"
command -v docker-compose >/dev/null || skip "no docker-compose command (Debian: apt-get install docker-compose)"
if ! timeout 20 docker info >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || skip "no Docker engine answers and only root may start dockerd"
  command -v dockerd >/dev/null || skip "no Docker engine answers and there is no dockerd to start"
  dockerd --iptables=false --ip-forward=false >"$dir/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 60); do
    timeout 5 docker info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.5
  done
  if ! timeout 5 docker info >/dev/null 2>&1; then
    tail -n 5 "$dir/dockerd.log"
    skip "dockerd could not be started here (log above)"
  fi
  echo "started dockerd (pid $dockerd_pid, --iptables=false --ip-forward=false)"
fi

"$bin" gen smtp -o "$dir/t.pcap" --mails "$mails" --mean-size 20000 --seed 3 --phrase needle \
    --match-fraction 0.2 >/dev/null 2>&1 || fail "gen smtp"
"$bin" run "$root/programs/smtp_split.analog" --param PATTERN=needle --read "$dir/t.pcap" \
    -o "$dir/single.jsonl" 2>"$dir/single.log" || fail "single-process run: $(tail -n 3 "$dir/single.log")"
want=$(wc -l <"$dir/single.jsonl")
[ "$want" -gt 0 ] || fail "no alerts in the single-process run"

start=$(date +%s)
"$root/deploy/image.sh" "$bin" "$tag" || fail "deploy/image.sh could not build the image"
mkdir -p "$dir/out"
lab_up=1
lab up -d >"$dir/up.log" 2>&1 || { cat "$dir/up.log"; fail "docker-compose up"; }

# Every node exits by itself: the capture node at the end of its trace,
# the others once it has finished and everything is drained.
for svc in capture analyzer1 analyzer2 collector; do
  id=$(docker ps -aq --filter "label=com.docker.compose.project=$proj" \
                      --filter "label=com.docker.compose.service=$svc")
  [ -n "$id" ] || fail "no container for service $svc"
  rc=$(timeout 120 docker wait "$id") || fail "$svc did not finish within 120 s"
  [ "$rc" = 0 ] || fail "$svc exited $rc"
done
secs=$(( $(date +%s) - start ))

cmp -s "$dir/single.jsonl" "$dir/out/alerts.jsonl" ||
  fail "the lab's alerts ($(wc -l <"$dir/out/alerts.jsonl" 2>/dev/null || echo no) lines) differ from the single-process run's ($want)"
# mails each analyzer received from the capture node (its --stats JSON)
from_capture() { grep -o '{"peer": "capture"[^}]*}' "$dir/out/$1.json" | grep -o '"received": [0-9]*' | grep -o '[0-9]*$'; }
r1=$(from_capture analyzer1) r2=$(from_capture analyzer2)
[ "${r1:-0}" -gt 0 ] && [ "${r2:-0}" -gt 0 ] || fail "an analyzer got no work (analyzer1 ${r1:-?}, analyzer2 ${r2:-?})"
echo "ok: docker lab ($proj, image $tag): $want alerts identical to one process; analyzers got $r1 and $r2 batches; build + run ${secs} s"
