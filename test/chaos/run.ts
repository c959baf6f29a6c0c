// One chaos run: a few runtimes on one real store, each behind its own FaultyProvider, a planned
// workload started through a faulty client, optional random kills and restarts, then every
// invariant checked on the stored histories and the side-effect journal.
import { Client, InstanceAlreadyExistsError, ProviderError, Runtime, type Provider, type RuntimeOptions } from "../../src/index.js";
import { appendFileSync } from "node:fs";
import { PROVIDERS, openStore, type ProviderKind } from "../e2e/harness.js";
import { DEFAULT_RATES, FaultyProvider, Journal, Rng, type FaultRates } from "./faulty.js";
import { plan, registerAll, type Planned } from "./workload.js";
import { checkInstance } from "./check.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ChaosConfig {
  kind: ProviderKind;
  seed: number;
  replayEveryTurn: boolean;
  instances: number;
  nodes: number;
  /** Kill a random node (and start a replacement) every so often while instances run. */
  kills: boolean;
  rates?: FaultRates;
  /** Upper bound of an activity's random run time (default 15 ms). */
  stepMs?: number;
  /** Give up waiting for instances after this long. */
  deadlineMs?: number;
}

export interface ChaosResult {
  problems: string[];
  summary: string;
}

/** Seeds for a test: CHAOS_SEED reproduces one; CHAOS_SEEDS=n runs n seeds from a base. */
export function chaosSeeds(defaults: number[]): number[] {
  const one = process.env["CHAOS_SEED"];
  if (one !== undefined && one !== "") return [Number(one) >>> 0];
  const n = Number(process.env["CHAOS_SEEDS"] ?? "0");
  if (n > 0) {
    const base = Number(process.env["CHAOS_SEED_BASE"] ?? String(Date.now() % 1_000_000));
    return Array.from({ length: n }, (_, i) => (base + i * 7919) >>> 0);
  }
  return defaults;
}

/** PROVIDERS, narrowed by CHAOS_PROVIDERS=sqlite,postgres when set. */
export function chaosProviders(): ProviderKind[] {
  const only = process.env["CHAOS_PROVIDERS"];
  return only ? PROVIDERS.filter((k) => only.split(",").includes(k)) : PROVIDERS;
}

export function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  return v === undefined || v === "" ? dflt : Number(v);
}

/** Retry a client call through transient faults; a start that committed before a fault counts as done. */
async function persist(what: string, op: () => Promise<void>): Promise<void> {
  let tried = false;
  for (let n = 0; ; n++) {
    try {
      await op();
      return;
    } catch (err) {
      if (tried && err instanceof InstanceAlreadyExistsError) return;
      if (!(err instanceof ProviderError && err.retryable) || n > 50) throw new Error(`${what}: ${String(err)}`);
      tried = true;
      await sleep(5);
    }
  }
}

interface Node {
  n: number;
  inner: Provider;
  faulty: FaultyProvider;
  runtime: Runtime;
  killed: boolean;
}

export async function runChaos(cfg: ChaosConfig): Promise<ChaosResult> {
  const rng = new Rng(cfg.seed);
  const journal = new Journal();
  const rates = cfg.rates ?? DEFAULT_RATES;
  const store = await openStore(cfg.kind);
  const options: RuntimeOptions = {
    dispatcherPollIntervalMs: 20,
    logLevel: "off",
    orchestratorLockTimeoutMs: rng.int(300, 500),
    workerLockTimeoutMs: rng.int(300, 500),
    activityCancellationPollMs: 50,
    activityCancellationGracePeriodMs: 100,
    sessionLockTimeoutMs: rng.int(300, 500),
    sessionIdleTimeoutMs: 2_000,
    orchestrationConcurrency: 4,
    workerConcurrency: 6,
    replayEveryTurn: cfg.replayEveryTurn,
    maxAttempts: envInt("CHAOS_MAX_ATTEMPTS", 10),
  };
  const nodes: Node[] = [];
  let spawned = 0;
  const spawn = async (): Promise<Node> => {
    const n = spawned++;
    const inner = await store.open();
    const faulty = new FaultyProvider(inner, rng.fork(n), rates, journal, `node${n}`);
    const runtime = new Runtime(faulty, options);
    registerAll(runtime, journal, cfg.stepMs ?? 15);
    await runtime.start();
    const node: Node = { n, inner, faulty, runtime, killed: false };
    nodes.push(node);
    return node;
  };
  /**
   * Either the process dies (nothing more reaches the store) or the runtime is stopped abruptly
   * with shutdown(0) on a live store (in-flight activities are signalled at once).
   */
  const kill = async (node: Node, how: "die" | "shutdown0"): Promise<void> => {
    node.killed = true;
    node.faulty.noteAll(`${how} (runtime ${node.runtime.runtimeId})`);
    if (how === "die") node.faulty.kill();
    await node.runtime.shutdown(0);
    node.faulty.kill();
    await node.inner.close();
  };

  const clientInner = await store.open();
  const clientFaulty = new FaultyProvider(clientInner, rng.fork(1_000), rates, journal, "client");
  const client = new Client(clientFaulty);
  const reader = new Client(clientInner);
  const problems: string[] = [];
  const planned: Planned[] = plan(rng, `s${cfg.seed}`, cfg.instances);
  const deadline = Date.now() + (cfg.deadlineMs ?? 45_000);
  let kills = 0;
  try {
    for (let i = 0; i < cfg.nodes; i++) await spawn();
    const raises: Promise<void>[] = [];
    for (const p of planned) {
      await persist(`start ${p.id}`, () => client.startOrchestration(p.id, p.kind, p.input));
      const r = p.raise;
      if (r) raises.push(sleep(r.afterMs).then(() => persist(`raise ${p.id}`, () => client.raiseEvent(p.id, r.name, r.data))));
      const c = p.cancel;
      if (c) raises.push(sleep(c.afterMs).then(() => persist(`cancel ${p.id}`, () => client.cancelInstance(p.id, c.reason))));
      const q = p.enqueue;
      if (q)
        raises.push(
          (async () => {
            for (const it of q.items) {
              await sleep(it.afterMs);
              await persist(`enqueue ${p.id}`, () => client.enqueueEvent(p.id, q.queue, it.data));
            }
          })(),
        );
    }

    const finished = async (): Promise<boolean> => {
      for (const p of planned) {
        const s = await clientInner.getStatus(p.id);
        if (!s || (s.status !== "Completed" && s.status !== "Failed")) return false;
      }
      return true;
    };
    // Chaos phase: kill and replace nodes at random moments until everything finished.
    const chaosUntil = Date.now() + 30_000;
    while (!(await finished())) {
      if (Date.now() > deadline) break;
      await sleep(rng.int(50, 250));
      if (cfg.kills && Date.now() < chaosUntil && rng.chance(0.6)) {
        const live = nodes.filter((x) => !x.killed);
        const victim = rng.pick(live);
        kills++;
        await kill(victim, rng.chance(0.5) ? "die" : "shutdown0");
        await spawn();
      }
    }
    await Promise.all(raises);

    for (const p of planned) {
      const s = await reader.getStatus(p.id);
      if (p.cancel) {
        if (s.status !== "Failed" || s.error !== `canceled: ${p.cancel.reason}`)
          problems.push(`${p.id}: expected cancelled (${p.cancel.reason}), got ${s.status} ${s.error ?? String(s.output)}`);
        continue;
      }
      if (s.status !== "Completed") {
        problems.push(`${p.id}: ${s.status} ${s.error ?? ""}`);
        continue;
      }
      const out = typeof s.output === "string" ? JSON.parse(s.output) : s.output;
      if (JSON.stringify(out) !== JSON.stringify(p.expected))
        problems.push(`${p.id}: output ${JSON.stringify(out)}, expected ${JSON.stringify(p.expected)}`);
      for (const [k, v] of Object.entries(p.kv ?? {})) {
        const got = await reader.getValue(p.id, k);
        if (got !== v) problems.push(`${p.id}: KV ${k} = ${JSON.stringify(got)}, expected ${JSON.stringify(v)}`);
      }
    }
    // Cancelled children (race losers) must settle too before their histories are checked.
    const all = new Set(planned.map((p) => p.id));
    const queue = [...all];
    while (queue.length > 0) {
      const id = queue.shift()!;
      // A child that was never sent its start (its parent ended in the same turn) never exists.
      const mustExist = planned.some((p) => p.id === id) || journal.startsSent.has(id);
      while (mustExist && Date.now() < deadline) {
        const s = await clientInner.getStatus(id);
        if (s && (s.status === "Completed" || s.status === "Failed")) break;
        await sleep(20);
      }
      const c = await checkInstance(clientInner, id, journal, problems);
      for (const ch of c.children)
        if (!all.has(ch)) {
          all.add(ch);
          queue.push(ch);
        }
    }
    problems.push(...journal.violations);
    const dump = process.env["CHAOS_DUMP"]; // a file to append the histories of instances with problems to
    if (dump) {
      for (const id of all) {
        if (!problems.some((p) => p.startsWith(id) || id.startsWith(p.split(/[: ]/)[0]!.split("::")[0]!))) continue;
        const st = await clientInner.getStatus(id);
        for (let e = 1; e <= (st?.executionId ?? 0); e++)
          appendFileSync(dump, `--- ${id} execution ${e}\n${(await clientInner.readExecution(id, e)).map((x) => JSON.stringify(x)).join("\n")}\n`);
      }
    }
    if (problems.length > 0) problems.push(`nodes: ${nodes.map((x) => `node${x.n}=work-${x.runtime.runtimeId}`).join(" ")}`);
    const summary = `${cfg.kind} seed=${cfg.seed} replayEveryTurn=${cfg.replayEveryTurn}: ${planned.length} instances (${all.size} with children), ${kills} kills, ${spawned} runtimes; ${journal.summary()}`;
    return { problems, summary };
  } finally {
    for (const n of nodes) if (!n.killed) {
      n.faulty.calm();
      await n.runtime.shutdown(100);
      await n.inner.close();
    }
    await clientInner.close();
    await store.destroy();
  }
}
