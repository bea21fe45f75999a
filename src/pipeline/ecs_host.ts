/**
 * Who reports: the ECS `host.*` and `agent.*` fields of every event, read once
 * from the machine (`/etc/machine-id`, `/etc/os-release`, uname).
 *
 * @module
 */
import { createHash } from "node:crypto";
import denoJson from "../../deno.json" with { type: "json" };

/** ECS `host` fields. */
export interface HostFields {
  /** The host's name (ECS: may be the FQDN; here what `hostname` says). */
  name?: string;
  hostname: string;
  /** `/etc/machine-id`, when the host has one. */
  id?: string;
  architecture?: string;
  os?: {
    type: "linux";
    kernel?: string;
    name?: string;
    family?: string;
    platform?: string;
    version?: string;
    full?: string;
  };
}

/** ECS `agent` fields. */
export interface AgentFields {
  type: "bpfink";
  name: string;
  version: string;
  /** Stable per host: derived from the machine id. */
  id?: string;
  /** New on every start. */
  ephemeral_id: string;
}

/** Values of an os-release file (`KEY=value`, values optionally quoted). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2];
    if (/^(["']).*\1$/.test(v)) v = v.slice(1, -1).replace(/\\(["'$`\\])/g, "$1");
    out[m[1]] = v.slice(0, 256);
  }
  return out;
}

function readOr(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** A UUID-shaped string from the first 16 bytes of sha256(`text`). */
function uuidOf(text: string): string {
  const d = createHash("sha256").update(text).digest();
  d[6] = (d[6] & 0x0f) | 0x50;
  d[8] = (d[8] & 0x3f) | 0x80;
  const h = d.subarray(0, 16).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${
    h.slice(20, 32)
  }`;
}

let cached: { host: Omit<HostFields, "name" | "hostname">; agentId?: string } | undefined;
const ephemeralId = crypto.randomUUID();

/** The machine's identity, read on first use. */
function identity(): NonNullable<typeof cached> {
  if (cached) return cached;
  const machineId = readOr("/etc/machine-id")?.trim();
  const osr = parseOsRelease(readOr("/etc/os-release") ?? readOr("/usr/lib/os-release") ?? "");
  const id = machineId && /^[0-9a-f]{32}$/.test(machineId) ? machineId : undefined;
  cached = {
    host: {
      ...(id ? { id } : {}),
      architecture: Deno.build.arch,
      os: {
        type: "linux",
        kernel: Deno.osRelease(),
        ...(osr.NAME ? { name: osr.NAME } : {}),
        ...(osr.ID_LIKE || osr.ID ? { family: (osr.ID_LIKE ?? osr.ID).split(" ")[0] } : {}),
        ...(osr.ID ? { platform: osr.ID } : {}),
        ...(osr.VERSION_ID ? { version: osr.VERSION_ID } : {}),
        ...(osr.PRETTY_NAME ? { full: osr.PRETTY_NAME } : {}),
      },
    },
    agentId: id ? uuidOf(`bpfink agent ${id}`) : undefined,
  };
  return cached;
}

/** `host` fields for `hostname` (identity as loaded; only the names before it is). */
export function hostFields(hostname: string): HostFields {
  return { name: hostname, hostname, ...identity().host };
}

/** `agent` fields: bpfink, its version, a per-host id and a per-start id. */
export function agentFields(hostname: string): AgentFields {
  return {
    type: "bpfink",
    name: hostname,
    version: denoJson.version,
    ...(identity().agentId ? { id: identity().agentId } : {}),
    ephemeral_id: ephemeralId,
  };
}
