#!/bin/sh
# The kernel matrix's end-to-end scenario, run by the single file alone: for each PROBE (auto
# or a strategy to force), start `BPFINK --paths a,b,d --json [--probe PROBE]`, then write,
# writev, rename over, write after the rename, unlink, create in the watched directory and
# write an unwatched file, waiting for each event before the next step. Needs only a POSIX
# shell with grep, mktemp, mv, rm and fractional sleep (busybox has them all), and WRITEV
# (test/kernels/writev.c). matrix.ts parses what it prints:
#
#   BPFINK-DIST <probe> begin <uptime>
#   BPFINK-DIST <probe> started <the started record, one JSON line>
#   BPFINK-DIST <probe> missed <what>          (one line per expected event not seen)
#   BPFINK-DIST <probe> stderr <line>          (the first 20 lines bpfink wrote to stderr)
#   BPFINK-DIST <probe> end <uptime> <exit status after SIGINT>
#
# usage: sh dist_scenario.sh BPFINK WRITEV PROBE...
set -u
B=$1
W=$2
shift 2
top=$(mktemp -d "${TMPDIR:-/tmp}/bpfink-dist-XXXXXX") || exit 1
trap 'rm -rf "$top"' EXIT
trap 'exit 1' INT TERM

uptime_s() { cut -d' ' -f1 /proc/uptime; }

# has FILE FRAGMENT...: one line of FILE holds every fragment (fixed strings).
has() {
  _f=$1
  shift
  _m=$(grep -F -- "$1" "$_f") || return 1
  shift
  for _p in "$@"; do
    _m=$(printf '%s\n' "$_m" | grep -F -- "$_p") || return 1
  done
}

# expect WHAT FRAGMENT...: waits up to 30 s for an event line holding every fragment.
expect() {
  _what=$1
  shift
  _n=300
  while [ "$_n" -gt 0 ]; do
    has "$out" "$@" && return 0
    sleep 0.1
    _n=$((_n - 1))
  done
  has "$out" "$@" || echo "BPFINK-DIST $probe missed $_what"
}

for probe in "$@"; do
  echo "BPFINK-DIST $probe begin $(uptime_s)"
  dir=$top/$probe
  mkdir -p "$dir/d"
  a=$dir/a.conf b=$dir/b.conf d=$dir/d u=$dir/unwatched
  out=$dir/out.json err=$dir/err.txt
  echo a >"$a"
  echo b >"$b"
  echo x >"$d/x"
  echo u >"$u"
  : >"$out"
  if [ "$probe" = auto ]; then set --; else set -- --probe "$probe"; fi
  "$B" --paths "$a,$b,$d" --json "$@" >"$out" 2>"$err" &
  pid=$!
  # Start-up under software emulation takes tens of seconds: wait while it lives (10 min).
  n=6000
  while [ "$n" -gt 0 ] && ! grep -q '"action":"started"' "$out"; do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
    n=$((n - 1))
  done
  if started=$(grep -F '"action":"started"' "$out" | head -1) && [ -n "$started" ]; then
    echo "BPFINK-DIST $probe started $started"
    sh -c "echo 1 >> $a" &
    w=$!
    wait "$w"
    expect write '"action":"modified"' "\"file\":{\"path\":\"$a\"" "\"process\":{\"pid\":$w,"
    "$W" "$b" x y &
    w=$!
    wait "$w"
    expect writev '"action":"modified"' "\"file\":{\"path\":\"$b\"" "\"process\":{\"pid\":$w,"
    sh -c "echo new > $dir/tmp && mv $dir/tmp $a"
    expect rename-over '"action":"replaced"' "\"file\":{\"path\":\"$a\""
    sh -c "echo 2 >> $a" &
    w=$!
    wait "$w"
    expect "write after rename-over" '"action":"modified"' "\"file\":{\"path\":\"$a\"" \
      "\"process\":{\"pid\":$w,"
    # The shell execs rm for the last command of -c: name the process, not the pid.
    sh -c "rm $b"
    expect unlink '"action":"deleted"' "\"file\":{\"path\":\"$b\"" '"name":"rm"'
    sh -c "echo c > $d/new"
    expect "create in directory" '"action":"created"' "\"file\":{\"path\":\"$d/new\""
    sh -c "echo u >> $u"
    sleep 1
    if grep -qF "\"path\":\"$u\"" "$out"; then
      echo "BPFINK-DIST $probe missed unwatched write was reported"
    fi
  fi
  kill -INT "$pid" 2>/dev/null
  wait "$pid"
  rc=$?
  head -20 "$err" | while IFS= read -r line; do echo "BPFINK-DIST $probe stderr $line"; done
  echo "BPFINK-DIST $probe end $(uptime_s) $rc"
done
