#!/bin/sh
# Smoke check for a guest kernel, run inside it by test/kernels/run.ts:
#   deno run -A test/kernels/run.ts --payload /usr/sbin/bpftool \
#     --payload test/kernels/smoke.sh:/smoke.sh -- sh /smoke.sh
# Prints the release, whether BTF and the kprobe PMU are there, and whether
# bpftool can list programs and BTF objects. Exits non-zero if bpftool fails.
echo "uname: $(uname -r)"
if [ -e /sys/kernel/btf/vmlinux ]; then echo "btf: yes"; else echo "btf: no"; fi
if [ -e /sys/bus/event_source/devices/kprobe ]; then echo "kprobe pmu: yes"; else echo "kprobe pmu: no"; fi
echo "lsm: $(cat /sys/kernel/security/lsm 2>/dev/null)"
bpftool prog list || { echo "bpftool prog list: failed ($?)"; exit 1; }
echo "bpftool prog list: ok"
bpftool btf list | head -n 1
