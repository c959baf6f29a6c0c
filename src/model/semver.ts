// Orchestration versions are plain semver triples (x.y.z); the registry and the client both check them.

export type Semver = [number, number, number];

export function parseSemver(v: string): Semver | null {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/** Orders two valid semver strings (negative, zero, positive). */
export function compareSemver(a: string, b: string): number {
  const x = parseSemver(a)!;
  const y = parseSemver(b)!;
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}
