#!/usr/bin/env bash
# Builds kernels/build/libbpf-bundle.so: libbpf, libelf and zlib in one shared object
# that needs only glibc, so the agent runs on hosts (and initramfs guests) without
# libbpf1 or libelf1. Debian's libbpf.a and libelf.a are PIE, not PIC, and cannot go
# into a shared object, so libbpf and libelf are compiled here with -fPIC from Debian's
# own source packages (the versions Debian ships: libbpf 1.1.2, elfutils 0.188); zlib
# comes from Debian's libz.a, which is PIC. Only libbpf's API is exported (its own
# version script); libelf and zlib stay internal.
# Idempotent: a stamp of the inputs skips the rebuild.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${BPFINK_LIBBPF_CACHE:-$root/.cache/libbpf-src}
out=$root/kernels/build
libbpf_ver=1.1.2
elfutils_ver=0.188
stamp_want="libbpf=$libbpf_ver elfutils=$elfutils_ver script=$(sha256sum "$0" | cut -c1-16)"
if [ -f "$out/libbpf-bundle.so" ] && [ "$(cat "$out/libbpf-bundle.stamp" 2>/dev/null)" = "$stamp_want" ]; then
  exit 0
fi
mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial" "$out"
echo "deb-src http://deb.debian.org/debian bookworm main" > "$cache/apt/sources.list"
apt=(-o "Dir::Etc::SourceList=$cache/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$cache/apt/lists" -o "Dir::Cache=$cache/apt/cache")
cd "$cache"
if [ ! -f "libbpf_$libbpf_ver.orig.tar.gz" ] || [ ! -f "elfutils_$elfutils_ver.orig.tar.bz2" ]; then
  apt-get "${apt[@]}" update -qq
  apt-get "${apt[@]}" source --download-only -qq libbpf elfutils 2>/dev/null
fi
rm -rf "elfutils-$elfutils_ver" "libbpf-$libbpf_ver" objs
tar xjf "elfutils_$elfutils_ver.orig.tar.bz2"
tar xzf "libbpf_$libbpf_ver.orig.tar.gz"
(
  cd "elfutils-$elfutils_ver"
  ./configure --quiet --disable-debuginfod --disable-libdebuginfod --without-bzlib --without-lzma \
    --without-zstd CFLAGS="-O2 -fPIC -g0" > configure.log 2>&1 || { tail -20 configure.log; exit 1; }
  make -s -j"$(nproc)" -C lib > make.log 2>&1 || { tail -20 make.log; exit 1; }
  make -s -j"$(nproc)" -C libelf libelf_pic.a >> make.log 2>&1 || { tail -20 make.log; exit 1; }
)
make -s -j"$(nproc)" -C "libbpf-$libbpf_ver/src" OBJDIR="$cache/objs" \
  CFLAGS="-O2 -fPIC -g0 -I$cache/elfutils-$elfutils_ver/libelf" > libbpf-make.log 2>&1 || { tail -20 libbpf-make.log; exit 1; }
gcc -shared -o "$out/libbpf-bundle.so.tmp" -Wl,--no-undefined -Wl,-soname,libbpf-bundle.so \
  -Wl,--version-script="libbpf-$libbpf_ver/src/libbpf.map" \
  "$cache"/objs/sharedobjs/*.o "elfutils-$elfutils_ver/libelf/libelf_pic.a" /usr/lib/x86_64-linux-gnu/libz.a
strip --strip-unneeded "$out/libbpf-bundle.so.tmp"
# Only glibc may be needed.
if readelf -d "$out/libbpf-bundle.so.tmp" | grep NEEDED | grep -v -e 'libc\.so\.6' -e 'ld-linux'; then
  echo "libbpf-bundle.so needs more than glibc" >&2
  exit 1
fi
{
  echo "libbpf-bundle.so contains libbpf $libbpf_ver, libelf from elfutils $elfutils_ver, and zlib."
  echo "libbpf: LGPL-2.1 OR BSD-2-Clause. libelf: LGPL-3.0-or-later OR GPL-2.0-or-later. zlib: Zlib license."
  for f in "libbpf-$libbpf_ver/LICENSE.BSD-2-Clause" "libbpf-$libbpf_ver/LICENSE.LGPL-2.1" \
    "elfutils-$elfutils_ver/COPYING-LGPLV3" "elfutils-$elfutils_ver/COPYING-GPLV2" /usr/share/doc/zlib1g/copyright; do
    [ -f "$f" ] && { echo; echo "==== $(basename "$f")"; cat "$f"; }
  done
} > "$out/libbpf-bundle.LICENSES.txt"
mv "$out/libbpf-bundle.so.tmp" "$out/libbpf-bundle.so"
echo "$stamp_want" > "$out/libbpf-bundle.stamp"
rm -rf "elfutils-$elfutils_ver" "libbpf-$libbpf_ver" objs
echo "built $out/libbpf-bundle.so ($(stat -c %s "$out/libbpf-bundle.so") bytes)" >&2
