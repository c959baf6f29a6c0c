// Capacity projection from measured CPU per orchestration (bench:pg).
//
// Model: throughput is bounded by CPU alone, and the CPU one orchestration costs is what was
// measured here (Node runtime processes and PostgreSQL backends, per orchestration), whatever the
// scale. So a machine with N cores sustains at most N * 1000 / (ms of CPU per orchestration).
// Three deployments:
//   - one machine running both the runtimes and PostgreSQL: N * 1000 / (node + pg)
//   - runtime machines with N cores in total:              N * 1000 / node
//   - a PostgreSQL machine with N cores:                   N * 1000 / pg
// Commits are a separate bound (WAL flushes, not CPU): `commitsPerSec` / commits per orchestration.
// What the model leaves out, and why the figures are ceilings: CPU headroom (a real system runs
// below 100%), contention that grows with more processes than the 1–4 measured (row locks, queue
// index hot spots, LWLocks), network round trips between machines (they cost latency, which
// concurrency hides, not CPU), disks slower than this machine's, and the clients that start
// orchestrations (their Node CPU is not counted; their PostgreSQL work is).

export interface PerOrchestrationCost {
  /** Node CPU ms per orchestration, summed over the runtime processes. */
  nodeCpuMs: number;
  /** PostgreSQL backend CPU ms per orchestration (runtimes and starting client). */
  pgCpuMs: number;
  commits: number;
}

export interface Projection {
  cores: number;
  /** Orchestrations/s with runtimes and PostgreSQL on one N-core machine. */
  sharedMachine: number;
  /** Orchestrations/s that N cores of runtime processes can drive (PostgreSQL elsewhere). */
  runtimeCores: number;
  /** Orchestrations/s an N-core PostgreSQL server can serve (runtimes elsewhere). */
  postgresCores: number;
}

export function project(cost: PerOrchestrationCost, cores: readonly number[]): Projection[] {
  return cores.map((n) => ({
    cores: n,
    sharedMachine: Math.floor((n * 1000) / (cost.nodeCpuMs + cost.pgCpuMs)),
    runtimeCores: Math.floor((n * 1000) / cost.nodeCpuMs),
    postgresCores: Math.floor((n * 1000) / cost.pgCpuMs),
  }));
}

/** The commit bound: orchestrations/s a server committing `commitsPerSec` transactions/s allows. */
export function commitBound(cost: PerOrchestrationCost, commitsPerSec: number): number {
  return Math.floor(commitsPerSec / cost.commits);
}
