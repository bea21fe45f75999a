/**
 * Checks events the way a SIEM would take them: every field outside
 * `bpfink.*` must be an ECS field of the right type (definitions from the
 * `@elastic/ecs` package, not a copy), allowed values and category/type
 * pairs as ECS lists them; and the whole event must match bpfink's own
 * JSON Schema (`schema/event.schema.json`). Tests run every event they see
 * through {@link checkEvent}.
 *
 * @module
 */
import { EcsFlat } from "@elastic/ecs";
import Ajv from "ajv";
import schema from "../schema/event.schema.json" with { type: "json" };
import { ECS_VERSION } from "../src/pipeline/ecs_event.ts";

interface FieldDef {
  type: string;
  normalize?: string[];
  allowed_values?: { name: string; expected_event_types?: string[] }[];
}

const FIELDS = EcsFlat as unknown as Record<string, FieldDef>;
const CONTAINERS = new Set(["object", "flattened", "nested"]);
const STRINGS = new Set(["keyword", "constant_keyword", "wildcard", "match_only_text", "text"]);
const INTEGERS = new Set(["long", "integer", "short", "byte", "unsigned_long"]);
const FLOATS = new Set(["float", "double", "scaled_float", "half_float"]);
const DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

function typeProblem(name: string, def: FieldDef, v: unknown): string | undefined {
  const t = def.type;
  if (STRINGS.has(t)) return typeof v === "string" ? undefined : `${name}: ${t} needs a string`;
  if (INTEGERS.has(t)) return Number.isInteger(v) ? undefined : `${name}: ${t} needs an integer`;
  if (FLOATS.has(t)) return typeof v === "number" ? undefined : `${name}: ${t} needs a number`;
  if (t === "boolean") return typeof v === "boolean" ? undefined : `${name}: needs a boolean`;
  if (t === "date") {
    return typeof v === "string" && DATE.test(v) && !Number.isNaN(Date.parse(v))
      ? undefined
      : `${name}: date needs an ISO 8601 string`;
  }
  if (t === "ip") return typeof v === "string" ? undefined : `${name}: ip needs a string`;
  return undefined;
}

function walk(prefix: string, obj: Record<string, unknown>, out: string[]): void {
  for (const [k, v] of Object.entries(obj)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (name === "bpfink") continue; // bpfink's own namespace: the JSON Schema's job
    const def = FIELDS[name];
    if (def && CONTAINERS.has(def.type)) continue;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      if (def) out.push(`${name}: ${def.type} field given an object`);
      else walk(name, v as Record<string, unknown>, out);
      continue;
    }
    if (!def) {
      out.push(`${name}: not an ECS ${ECS_VERSION} field (non-ECS fields go under bpfink.*)`);
      continue;
    }
    const values = Array.isArray(v) ? v : [v];
    if (Array.isArray(v) && !def.normalize?.includes("array")) {
      out.push(`${name}: ECS does not list it as an array`);
    }
    for (const x of values) {
      const p = typeProblem(name, def, x);
      if (p) out.push(p);
      const allowed = def.allowed_values?.map((a) => a.name);
      if (allowed && !allowed.includes(String(x))) {
        out.push(`${name}: "${x}" is not an allowed value (${allowed.join(", ")})`);
      }
    }
  }
}

/** Problems with `e` as ECS: unknown fields, wrong types, disallowed values or category/type pairs. */
export function ecsProblems(e: unknown): string[] {
  const out: string[] = [];
  if (e === null || typeof e !== "object") return ["an event must be an object"];
  walk("", e as Record<string, unknown>, out);
  const ev = (e as { event?: { category?: string[]; type?: string[] } }).event;
  const cats = FIELDS["event.category"].allowed_values ?? [];
  for (const t of ev?.type ?? []) {
    const ok = (ev?.category ?? []).some((c) =>
      cats.find((a) => a.name === c)?.expected_event_types?.includes(t)
    );
    if (!ok) out.push(`event.type "${t}" is not expected for event.category ${ev?.category}`);
  }
  if ((e as { ecs?: { version?: string } }).ecs?.version !== ECS_VERSION) {
    out.push(`ecs.version must be ${ECS_VERSION}`);
  }
  return out;
}

const ajv = new Ajv.default({
  allErrors: true,
  strict: true,
  strictTypes: false,
  strictRequired: false,
});
const validateSchema = ajv.compile(schema);

/** Problems with `e` against `schema/event.schema.json`. */
export function schemaProblems(e: unknown): string[] {
  if (validateSchema(e)) return [];
  return (validateSchema.errors ?? []).map((x) =>
    `${x.instancePath || "/"} ${x.message}${x.params ? " " + JSON.stringify(x.params) : ""}`
  );
}

/** Actions of every event checked so far (so a test can say which kinds it covered). */
export const checkedActions: Set<string> = new Set();

/** Every problem with `e` (ECS and schema); empty when it is valid. */
export function eventProblems(e: unknown): string[] {
  const action = (e as { event?: { action?: string } })?.event?.action;
  if (action) checkedActions.add(action);
  return [...ecsProblems(e), ...schemaProblems(e)];
}

/** Throws, naming the event and each problem, unless `e` is a valid bpfink ECS event. */
export function checkEvent(e: unknown, where = "event"): void {
  const p = eventProblems(e);
  if (p.length === 0) return;
  const action = (e as { event?: { action?: string } })?.event?.action;
  throw new Error(
    `${where} (${action ?? "no action"}) is not valid ECS / bpfink schema:\n  ${p.join("\n  ")}\n` +
      JSON.stringify(e),
  );
}
