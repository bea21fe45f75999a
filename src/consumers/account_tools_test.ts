/**
 * The account consumers against the real shadow-utils and what their
 * changes give: useradd, usermod, gpasswd (`-a`, `-A`, `-M`), groupmems
 * and a hand edit of gshadow run on a copy of /etc bind-mounted over /etc
 * in a private mount namespace (nothing outside it changes), and after
 * each step the power it gave is checked with the system's own tools as
 * the user (`setpriv` to drop to the account, then `sg`, `gpasswd`, `id`).
 * Each step's changed files are read by the consumers in the order the
 * tools wrote them, each diff seeing the other files as last committed, as
 * the pipeline hands them over.
 */
import { assert, assertEquals } from "../../test/assert.ts";
import type { ConsumerContext } from "./consumer.ts";
import { consumerNameFor, semanticConsumer } from "./registry.ts";
import { changeSeverity, type SemanticChange } from "./semantic_change.ts";
import { hmacFingerprint } from "./consumer_context.ts";

const TOOLS = ["unshare", "useradd", "usermod", "gpasswd", "groupmems", "sg", "setpriv"];

function available(): boolean {
  if (Deno.uid() !== 0) return false;
  return TOOLS.every((t) =>
    ["/usr/bin", "/usr/sbin"].some((d) => {
      try {
        Deno.statSync(`${d}/${t}`);
        return true;
      } catch {
        return false;
      }
    })
  );
}

const FILES = ["passwd", "shadow", "group", "gshadow"];

/** One step: shell commands run as root inside the namespace, then `probe` (its output is kept). */
interface Step {
  run: string;
  probe?: string;
}

/** A command run as `user` with no privilege: its own uid, gid and groups, as login gives them. */
const as = (user: string, cmd: string) =>
  `setpriv --reuid ${user} --regid ${user} --init-groups ${cmd} </dev/null 2>&1 || echo "exit $?"`;

/**
 * Runs `steps` on a copy of /etc in a private mount namespace; returns the
 * account files after each step (bytes), the order they were last written
 * in, and each probe's output.
 */
async function runSteps(
  dir: string,
  steps: Step[],
): Promise<{ files: Record<string, Uint8Array>; order: string[]; probe: string }[]> {
  const etc = `${dir}/etc`;
  const lines = [
    "set -e",
    `cp -a /etc/. ${etc}/`,
    // Debian ships no PAM service for groupmems: PAM's `other` would deny even root.
    `printf 'auth sufficient pam_rootok.so\\naccount required pam_permit.so\\n' > ${etc}/pam.d/groupmems`,
    `mount --bind ${etc} /etc`,
  ];
  for (const [i, s] of steps.entries()) {
    const out = `${dir}/out${i}`;
    lines.push(
      `mkdir ${out}`,
      s.run,
      `{ ${s.probe ?? "true"}; } >${out}/probe 2>&1`,
      ...FILES.map((f) => `cp /etc/${f} ${out}/${f}`),
      `stat -c '%.9Y %n' ${FILES.map((f) => `/etc/${f}`).join(" ")} | sort -n > ${out}/order`,
    );
  }
  lines.push("umount /etc");
  await Deno.mkdir(etc);
  const r = await new Deno.Command("unshare", {
    args: ["-m", "--propagation", "private", "sh", "-c", lines.join("\n")],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert(r.success, `the steps failed: ${dec.decode(r.stdout)}${dec.decode(r.stderr)}`);
  const out = [];
  for (let i = 0; i < steps.length; i++) {
    const files: Record<string, Uint8Array> = {};
    for (const f of FILES) files[f] = await Deno.readFile(`${dir}/out${i}/${f}`);
    const order = (await Deno.readTextFile(`${dir}/out${i}/order`)).trim().split("\n")
      .map((l) => l.split(" ")[1].replace("/etc/", ""));
    out.push({ files, order, probe: await Deno.readTextFile(`${dir}/out${i}/probe`) });
  }
  return out;
}

/** The consumers over a baseline of snapshots, fed one changed file at a time as the pipeline is. */
class Accounts {
  readonly #baseline = new Map<string, unknown>();
  readonly warnings: string[] = [];
  readonly #ctx: ConsumerContext = {
    fingerprint: (s) => hmacFingerprint(new TextEncoder().encode("tools test"), s),
    readFile: () => undefined,
    readDir: () => [],
    warn: (m) => this.warnings.push(m),
    baseline: (path) => this.#baseline.get(path),
  };

  /** Reads `bytes` as `/etc/<name>`; the changes since its last reading. */
  read(name: string, bytes: Uint8Array): SemanticChange[] {
    const path = `/etc/${name}`;
    const c = semanticConsumer(consumerNameFor(path))!;
    const after = c.snapshot(path, new TextDecoder().decode(bytes), this.#ctx, bytes);
    const before = this.#baseline.get(path);
    const out = before === undefined ? [] : c.diff(path, before, after, this.#ctx);
    this.#baseline.set(path, after);
    return out as SemanticChange[];
  }
}

/** Each change as [action, level, message], the bpft_ accounts' only. */
const told = (cs: SemanticChange[]) =>
  cs.filter((c) => c.message.includes("bpft_")).map((
    c,
  ) => [c.action, changeSeverity(c), c.message]);

const MEMBER_NOTE = "in gshadow (newgrp and sg give its gid without a password)";
const ADMIN_NOTE = "as administrator (gpasswd lets them change its members and password)";

Deno.test({
  name:
    "shadow-utils: gshadow members and administrators, primary gids, each judged by the gid it gives",
  ignore: !available(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "bpfink-tools-" });
    try {
      const steps: Step[] = [
        {
          run: "useradd -M -s /bin/sh bpft_alice; useradd -M -s /bin/sh bpft_eve; " +
            "useradd -M -s /bin/sh bpft_bob; groupadd bpft_devs",
          probe: as("bpft_alice", "sg sudo -c 'id -G'"),
        },
        { run: "gpasswd -a bpft_eve sudo" },
        { run: "gpasswd -A bpft_bob sudo" },
        // The administrator adds himself, as himself: gpasswd asks nothing.
        { run: as("bpft_bob", "gpasswd -a bpft_bob sudo"), probe: "id -G bpft_bob" },
        { run: "gpasswd -M bpft_alice,bpft_eve bpft_devs" },
        { run: "groupmems -g bpft_devs -d bpft_alice" },
        // A member in gshadow alone: sg gives her the gid without a password.
        {
          run: "sed -i 's/^sudo:.*$/&,bpft_alice/' /etc/gshadow",
          probe: as("bpft_alice", "sg sudo -c 'id -G'") + "; grep '^sudo:' /etc/group",
        },
        {
          run: "sed -i 's/^\\(sudo:.*\\),bpft_alice$/\\1/' /etc/gshadow",
          probe: as("bpft_alice", "sg sudo -c 'id -G'"),
        },
        { run: "usermod -g sudo bpft_alice", probe: "id -G bpft_alice" },
        { run: "useradd -M -g 0 bpft_zed", probe: "id -G bpft_zed" },
      ];
      const got = await runSteps(dir, steps);
      const accounts = new Accounts();
      const events: string[][][] = [];
      for (const [i, s] of got.entries()) {
        const changed = s.order.filter((f) =>
          i === 0 || String(got[i - 1].files[f]) !== String(s.files[f])
        );
        events.push(changed.flatMap((f) => told(accounts.read(f, s.files[f]))) as string[][]);
      }
      const gid = (name: string) =>
        new TextDecoder().decode(got[0].files.group).split("\n").find((l) =>
          l.startsWith(`${name}:`)
        )!.split(":")[2];
      const sudo = gid("sudo");

      // Before: not a member, sg asks for the group password (none is set: refused).
      assert(!got[0].probe.split(/\s+/).includes(sudo), got[0].probe);
      assertEquals(events[1], [["group_member_added", "critical", "bpft_eve added to group sudo"]]);
      assertEquals(events[2], [[
        "group_admin_added",
        "critical",
        `bpft_bob added to group sudo ${ADMIN_NOTE}`,
      ]]);
      // ... and an administrator of sudo is as good as a member: he added himself.
      assertEquals(events[3], [["group_member_added", "critical", "bpft_bob added to group sudo"]]);
      assert(got[3].probe.split(/\s+/).includes(sudo), got[3].probe);
      assertEquals(events[4], [
        ["group_member_added", "high", "bpft_alice added to group bpft_devs"],
        ["group_member_added", "high", "bpft_eve added to group bpft_devs"],
      ]);
      // Removed from both files: she loses the gid at login, and sg without a password.
      assertEquals(events[5], [
        ["group_member_removed", "medium", "bpft_alice removed from group bpft_devs"],
        [
          "group_member_removed",
          "medium",
          `bpft_alice removed from group bpft_devs ${MEMBER_NOTE}`,
        ],
      ]);
      // gshadow alone lists her, /etc/group does not: sg gives her gid 27 all the same.
      assert(!got[6].probe.includes("bpft_alice"), got[6].probe);
      assert(got[6].probe.split(/\s+/).includes(sudo), got[6].probe);
      assertEquals(events[6], [[
        "group_member_added",
        "critical",
        `bpft_alice added to group sudo ${MEMBER_NOTE}`,
      ]]);
      assert(!got[7].probe.split(/\s+/).includes(sudo), got[7].probe);
      assertEquals(events[7], [[
        "group_member_removed",
        "medium",
        `bpft_alice removed from group sudo ${MEMBER_NOTE}`,
      ]]);
      // usermod -g: login gives her the gid (id -G), as joining the group would.
      assert(got[8].probe.split(/\s+/).includes(sudo), got[8].probe);
      const alice = gid("bpft_alice");
      const line = (e: string[][]) => e.map(([a, l, m]) => [a, l, m.replace(/line \d+/, "line N")]);
      assertEquals(line(events[8]), [
        [
          "group_gid_gained",
          "critical",
          `bpft_alice gains gid ${sudo} (sudo, privileged) as primary gid at passwd line N ` +
          `(primary gid ${alice} → ${sudo})`,
        ],
        [
          "group_gid_lost",
          "medium",
          `bpft_alice loses gid ${alice} (bpft_alice) (primary gid ${alice} → ${sudo})`,
        ],
      ]);
      assert(got[9].probe.split(/\s+/).includes("0"), got[9].probe);
      assertEquals(line(events[9]).map(([a, l]) => [a, l]), [
        ["user_added", "high"],
        ["group_gid_gained", "critical"],
      ]);
      assertEquals(
        line(events[9])[1][2],
        "bpft_zed gains gid 0 (root, privileged) as primary gid at passwd line N",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
