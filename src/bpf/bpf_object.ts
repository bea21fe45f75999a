/**
 * Typed wrappers over libbpf's object, program, map and link handles. Each
 * wrapper owns its handle; `close()`/`destroy()` release it exactly once.
 *
 * @module
 */
import { BpfError } from "./bpf_error.ts";
import { Errno } from "../errno.ts";
import type { Libbpf } from "./libbpf.ts";
import { objInfoByFd } from "./obj_info.ts";

const encoder = new TextEncoder();
const cstr = (s: string): Uint8Array<ArrayBuffer> => encoder.encode(s + "\0");

/** pthread_sigmask's `how`. */
const SIG_BLOCK = 0;
const SIG_SETMASK = 2;
/** glibc's sigset_t: 1024 bits, every one set (the kernel leaves SIGKILL and SIGSTOP alone). */
const ALL_SIGNALS = new Uint8Array(128).fill(0xff);

/** Runs `f` with every signal blocked on this thread, then restores the mask it had. */
function withSignalsBlocked<T>(libc: Libbpf["libc"], f: () => T): T {
  const old = new Uint8Array(128);
  const blocked = libc.pthread_sigmask(SIG_BLOCK, ALL_SIGNALS, old) === 0;
  try {
    return f();
  } finally {
    if (blocked) libc.pthread_sigmask(SIG_SETMASK, old, null);
  }
}

/** Options for opening an object from memory. */
export interface OpenOptions {
  /** A BTF file to relocate against instead of /sys/kernel/btf/vmlinux. */
  btfCustomPath?: string;
}

/** A BPF object (ELF) opened from bytes, then loaded into the kernel. */
export class BpfObject {
  #ptr: Deno.PointerValue;
  #keepAlive: Uint8Array[];
  #links = new Set<BpfLink>();

  private constructor(
    readonly lib: Libbpf,
    readonly name: string,
    ptr: Deno.PointerObject,
    keepAlive: Uint8Array[],
  ) {
    this.#ptr = ptr;
    this.#keepAlive = keepAlive;
  }

  /** Opens (parses) an object without loading it. */
  static open(lib: Libbpf, name: string, bytes: Uint8Array, opts: OpenOptions = {}): BpfObject {
    const data = new Uint8Array(bytes); // libbpf reads it in place while it opens
    const nameBuf = cstr(name);
    const btfBuf = opts.btfCustomPath ? cstr(opts.btfCustomPath) : undefined;
    // struct bpf_object_open_opts (libbpf 1.1): sz@0 object_name@8 btf_custom_path@48, 80 bytes.
    const o = new Uint8Array(80);
    const v = new DataView(o.buffer);
    v.setBigUint64(0, 80n, true);
    v.setBigUint64(8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(nameBuf))), true);
    if (btfBuf) {
      v.setBigUint64(48, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(btfBuf))), true);
    }
    const { value: ptr, log } = lib.withLog(() =>
      lib.sym.bpf_object__open_mem(data, BigInt(data.length), o)
    );
    if (ptr === null) {
      const errno = lib.errno();
      throw new BpfError(name, "bpf_object__open_mem", errno, lib.strerror(errno), undefined, log);
    }
    // libbpf (1.0 on) is done with the ELF image when open returns (bpf_object__elf_finish):
    // it keeps its own copies of the programs, the maps' data and the BTF. Wiped, so that a
    // libbpf that read it later would fail to load here rather than read freed memory.
    data.fill(0);
    return new BpfObject(lib, name, ptr, [nameBuf, ...(btfBuf ? [btfBuf] : []), o]);
  }

  #handle(): Deno.PointerObject {
    if (this.#ptr === null) throw new Error(`${this.name}: object already closed`);
    return this.#ptr;
  }

  /** Every program in the object, in ELF order. */
  programs(): BpfProgram[] {
    const out: BpfProgram[] = [];
    let p = this.lib.sym.bpf_object__next_program(this.#handle(), null);
    while (p !== null) {
      out.push(new BpfProgram(this, p));
      p = this.lib.sym.bpf_object__next_program(this.#handle(), p);
    }
    return out;
  }

  /** The program called `name`. */
  program(name: string): BpfProgram {
    const p = this.programs().find((x) => x.name === name);
    if (!p) {
      throw new BpfError(
        this.name,
        "find program",
        Errno.ENOENT,
        "ENOENT (no such program)",
        { program: name },
      );
    }
    return p;
  }

  /** The map called `name`. */
  map(name: string): BpfMap {
    const m = this.lib.sym.bpf_object__find_map_by_name(this.#handle(), cstr(name));
    if (m === null) {
      throw new BpfError(this.name, "bpf_object__find_map_by_name", Errno.ENOENT, "ENOENT", {
        map: name,
      });
    }
    const fd = this.lib.sym.bpf_map__fd(m);
    if (fd < 0) {
      throw new BpfError(this.name, "bpf_map__fd", -fd, this.lib.strerror(fd), { map: name });
    }
    return new BpfMap(this, name, fd);
  }

  /** Sizes map `name` (before load). */
  setMaxEntries(name: string, entries: number): void {
    const m = this.lib.sym.bpf_object__find_map_by_name(this.#handle(), cstr(name));
    if (m === null) {
      throw new BpfError(this.name, "bpf_object__find_map_by_name", Errno.ENOENT, "ENOENT", {
        map: name,
      });
    }
    const rc = this.lib.sym.bpf_map__set_max_entries(m, entries);
    if (rc < 0) {
      throw new BpfError(
        this.name,
        "bpf_map__set_max_entries",
        -rc,
        this.lib.strerror(rc),
        { map: name },
      );
    }
  }

  /**
   * Loads every autoloaded program and creates the maps (runs the verifier),
   * with this thread's signals blocked: the verifier gives up with EAGAIN
   * when a signal is pending, and libbpf tries a program five times, so a
   * stream of signals (a profiler's, or any sender's) would fail the load.
   * A signal sent meanwhile is delivered when the load returns.
   */
  load(): void {
    const { value: rc, log } = this.lib.withLog(() =>
      withSignalsBlocked(this.lib.libc, () => this.lib.sym.bpf_object__load(this.#handle()))
    );
    if (rc < 0) {
      const failing = log.map((l) =>
        /prog '([^']+)': (BPF program load failed|failed to load)/.exec(l)?.[1]
      )
        .find((x) => x);
      throw new BpfError(
        this.name,
        "bpf_object__load",
        -rc,
        this.lib.strerror(rc),
        failing ? { program: failing } : {},
        log,
      );
    }
  }

  /** @internal */
  _track(link: BpfLink, add: boolean): void {
    if (add) this.#links.add(link);
    else this.#links.delete(link);
  }

  /** Destroys every link still attached, then frees the object and its kernel programs and maps. */
  /** Whether `close()` was called: its maps' fds are gone, and may already name other files. */
  get closed(): boolean {
    return this.#ptr === null;
  }

  close(): void {
    if (this.#ptr === null) return;
    for (const l of [...this.#links]) l.destroy();
    this.lib.sym.bpf_object__close(this.#ptr);
    this.#ptr = null;
    this.#keepAlive = [];
  }

  /** @internal Keeps `buf` alive as long as the object: libbpf holds a pointer into it. */
  _keep(buf: Uint8Array): void {
    this.#handle();
    this.#keepAlive.push(buf);
  }

  /** @internal */
  get _ptr(): Deno.PointerObject {
    return this.#handle();
  }
}

/** One program of an object. */
export class BpfProgram {
  readonly name: string;
  readonly section: string;

  constructor(readonly object: BpfObject, readonly ptr: Deno.PointerObject) {
    const s = object.lib.sym;
    this.name = Deno.UnsafePointerView.getCString(s.bpf_program__name(ptr)!);
    this.section = Deno.UnsafePointerView.getCString(s.bpf_program__section_name(ptr)!);
  }

  /** The loaded program's fd (negative before load or when it was not loaded). */
  get fd(): number {
    return this.object.lib.sym.bpf_program__fd(this.ptr);
  }

  /** Whether `load()` will load this program. */
  get autoload(): boolean {
    return this.object.lib.sym.bpf_program__autoload(this.ptr);
  }

  /** Chooses whether `load()` loads this program (before load only). */
  setAutoload(on: boolean): void {
    const rc = this.object.lib.sym.bpf_program__set_autoload(this.ptr, on);
    if (rc < 0) {
      throw new BpfError(
        this.object.name,
        "bpf_program__set_autoload",
        -rc,
        this.object.lib.strerror(rc),
        { program: this.name },
      );
    }
  }

  /**
   * Has the kernel's verifier write its log for this program into `buf` at
   * `level` (1: the path to a refusal, 2: every instruction, 4: statistics
   * alone) when `load()` runs, instead of libbpf's log on failure only. The
   * log is a C string in `buf`, cut when it does not fit (before load only).
   */
  setVerifierLog(level: number, buf: Uint8Array): void {
    const s = this.object.lib.sym;
    this.object._keep(buf);
    for (
      const [fn, rc] of [
        ["bpf_program__set_log_buf", s.bpf_program__set_log_buf(this.ptr, buf, BigInt(buf.length))],
        ["bpf_program__set_log_level", s.bpf_program__set_log_level(this.ptr, level)],
      ] as const
    ) {
      if (rc < 0) {
        throw new BpfError(this.object.name, fn, -rc, this.object.lib.strerror(rc), {
          program: this.name,
        });
      }
    }
  }

  /** Attaches the program where its section says; the link detaches on `destroy()`. */
  attach(): BpfLink {
    const lib = this.object.lib;
    const { value: link, log } = lib.withLog(() => lib.sym.bpf_program__attach(this.ptr));
    if (link === null) {
      const errno = lib.errno();
      throw new BpfError(
        this.object.name,
        "bpf_program__attach",
        errno,
        lib.strerror(errno),
        { program: this.name, detail: this.section },
        log,
      );
    }
    const l = new BpfLink(this, link);
    this.object._track(l, true);
    return l;
  }
}

/** An attachment of a program; destroying it detaches the program. */
export class BpfLink {
  #ptr: Deno.PointerValue;
  constructor(readonly program: BpfProgram, ptr: Deno.PointerObject) {
    this.#ptr = ptr;
  }

  /** Whether the link is still attached. */
  get attached(): boolean {
    return this.#ptr !== null;
  }

  /** Detaches the program. Idempotent. */
  destroy(): void {
    if (this.#ptr === null) return;
    this.program.object.lib.sym.bpf_link__destroy(this.#ptr);
    this.#ptr = null;
    this.program.object._track(this, false);
  }
}

/** BPF_ANY / BPF_NOEXIST / BPF_EXIST. */
export const enum UpdateFlag {
  Any = 0,
  NoExist = 1,
  Exist = 2,
}

/** A map of a loaded object, used through its fd. */
export class BpfMap {
  readonly #fd: number;
  constructor(readonly object: BpfObject, readonly name: string, fd: number) {
    this.#fd = fd;
  }

  /**
   * The map's fd. After the object is closed the number may already belong to
   * another file (another object's map, even), so using it is refused.
   * @throws {BpfError} EBADF once the object is closed.
   */
  get fd(): number {
    if (this.object.closed) {
      throw new BpfError(
        this.object.name,
        "map access",
        Errno.EBADF,
        "EBADF (object closed)",
        { map: this.name },
      );
    }
    return this.#fd;
  }

  #fail(call: string, rc: number): never {
    throw new BpfError(
      this.object.name,
      call,
      -rc,
      this.object.lib.strerror(rc),
      { map: this.name },
    );
  }

  /** The map's max_entries as the kernel created it (for a ring buffer: its size in bytes). */
  maxEntries(): number {
    // struct bpf_map_info: type, id, key_size, value_size, max_entries, ...
    const info = objInfoByFd(this.object.lib, this.fd, 24);
    if (typeof info === "number") this.#fail("bpf_obj_get_info_by_fd", info);
    return info.getUint32(16, true);
  }

  /** Inserts or replaces `key` → `value`. */
  update(
    key: Uint8Array<ArrayBuffer>,
    value: Uint8Array<ArrayBuffer>,
    flags = UpdateFlag.Any,
  ): void {
    const rc = this.object.lib.sym.bpf_map_update_elem(this.fd, key, value, BigInt(flags));
    if (rc < 0) this.#fail("bpf_map_update_elem", rc);
  }

  /**
   * Inserts or replaces `count` entries at once (BPF_MAP_UPDATE_BATCH, one
   * system call): `keys` and `values` hold them back to back. Returns how
   * many went in before a failure (all of them on success) and the failure's
   * negative errno (0 on success); a kernel or map type without batches
   * fails the first with EINVAL or ENOTSUPP (524).
   */
  updateBatch(
    keys: Uint8Array<ArrayBuffer>,
    values: Uint8Array<ArrayBuffer>,
    count: number,
  ): { done: number; rc: number } {
    const n = new Uint32Array([count]);
    const rc = this.object.lib.sym.bpf_map_update_batch(this.fd, keys, values, n, null);
    return { done: rc < 0 ? Math.min(n[0], count) : count, rc: rc < 0 ? rc : 0 };
  }

  /** The value under `key`, or undefined when absent. */
  lookup(key: Uint8Array<ArrayBuffer>, valueSize: number): Uint8Array<ArrayBuffer> | undefined {
    const out = new Uint8Array(valueSize);
    const rc = this.object.lib.sym.bpf_map_lookup_elem(this.fd, key, out);
    if (rc === -Errno.ENOENT) return undefined;
    if (rc < 0) this.#fail("bpf_map_lookup_elem", rc);
    return out;
  }

  /** Deletes `key`; returns false when it was absent. */
  delete(key: Uint8Array<ArrayBuffer>): boolean {
    const rc = this.object.lib.sym.bpf_map_delete_elem(this.fd, key);
    if (rc === -Errno.ENOENT) return false;
    if (rc < 0) this.#fail("bpf_map_delete_elem", rc);
    return true;
  }

  /** Every key, read with bpf_map_get_next_key. */
  keys(keySize: number): Uint8Array<ArrayBuffer>[] {
    const out: Uint8Array<ArrayBuffer>[] = [];
    let prev: Uint8Array<ArrayBuffer> | null = null;
    for (;;) {
      const next = new Uint8Array(keySize);
      // A NULL key asks for the first key.
      const rc = this.object.lib.sym.bpf_map_get_next_key(
        this.fd,
        prev ? Deno.UnsafePointer.of(prev) : null,
        next,
      );
      if (rc === -Errno.ENOENT) return out;
      if (rc < 0) this.#fail("bpf_map_get_next_key", rc);
      out.push(next);
      prev = next;
    }
  }
}
