#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine to build, run and test bpfink from source:
# the BPF toolchain and tools from apt, Deno from npm, then the BPF objects.
# Idempotent. Needs root (apt).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

# To build and run: clang/llvm/libbpf-dev/bpftool build the BPF objects, libbpf1 is the
# libbpf the agent loads; npm fetches Deno; gcc, zstd and libzstd-dev build dist/bpfink's
# launcher and compress its payload.
APT_PACKAGES=(clang llvm libbpf-dev libbpf1 bpftool libelf-dev zlib1g-dev make gcc util-linux
  zstd libzstd-dev)

# With --test, what the tests and benchmarks use as well: python3, sed, procps, tmux,
# passwd (useradd...), sudo (visudo) and fio (io_uring writes) make real changes; qemu,
# busybox-static, cpio and the decompressors run the kernel matrix; rsyslog, prometheus,
# graphite-carbon (carbon-cache), nats-server (a JetStream cluster), ansible and systemd
# (systemd-analyze) are the real receivers and deploy tools; inotify-tools, auditd, fatrace
# and aide are what bench/coverage compares with; lintian and man-db check the .deb
# (build.ts deb); git, rsync, patch, vim and logrotate are the real workloads; btrfs-progs
# makes the btrfs the inode tests mount (subvolumes, reflinks); pamtester runs PAM stacks
# through the real libpam for the pam consumer's differential test; acl (setfacl, getfacl)
# sets the ACLs the ACL tests report and reads them back for the ACL differential test;
# e2fsprogs (chattr) sets the inode flags they report.
if [ "${1:-}" = "--test" ]; then
  APT_PACKAGES+=(sed procps tmux passwd sudo fio qemu-system-x86 busybox-static cpio zstd xz-utils lz4 dpkg
    rsyslog prometheus graphite-carbon nats-server ansible systemd inotify-tools auditd fatrace aide
    lintian man-db git rsync patch vim btrfs-progs pamtester acl e2fsprogs)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Commands that may come from elsewhere (e.g. a Node.js or Python install outside apt).
command -v npm >/dev/null || missing+=(npm)
[ "${1:-}" = "--test" ] && { command -v python3 >/dev/null || missing+=(python3); }
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# With --test, sshd's own config reader for the sshd_config differential test: the
# openssh-server package unpacked into tools/, not installed (no daemon runs, no user is added).
if [ "${1:-}" = "--test" ] && [ ! -x tools/openssh-server/usr/sbin/sshd ]; then
  echo "setup: unpacking openssh-server into tools/openssh-server" >&2
  debs=$(mktemp -d)
  (cd "$debs" && { apt-get download openssh-server >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get download openssh-server >/dev/null 2>&1; }; })
  dpkg -x "$debs"/openssh-server_*.deb tools/openssh-server
  rm -rf "$debs"
fi

# Deno from npm, pinned by tools/package-lock.json. It lives in tools/ so that Deno does
# not mistake the npm "deno" package for a dependency of the agent; node_modules/.bin/deno
# points at it.
if [ ! -x tools/node_modules/.bin/deno ]; then
  echo "setup: installing Deno from npm" >&2
  (cd tools && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
mkdir -p node_modules/.bin
ln -sfn ../../tools/node_modules/.bin/deno node_modules/.bin/deno
node_modules/.bin/deno --version >/dev/null

# tracefs and bpffs: not needed by the default objects, but bpftool and kprobes use them.
mountpoint -q /sys/kernel/tracing 2>/dev/null || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
mountpoint -q /sys/fs/bpf 2>/dev/null || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true

node_modules/.bin/deno run -A build.ts bpf libbpf native binary --if-needed
echo "setup: ready. Run: sudo ./bpfink --paths /etc/passwd,/etc/shadow (or dist/bpfink, the single file)" >&2
