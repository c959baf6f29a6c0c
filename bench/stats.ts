// Small measurement helpers for the benchmark: percentiles and a peak-RSS sampler.

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(values: number[]): { p50: number; p99: number; max: number; mean: number } {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  return { p50: round(percentile(s, 50)), p99: round(percentile(s, 99)), max: round(s[s.length - 1] ?? NaN), mean: round(mean) };
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Samples process RSS every `everyMs` while running; `stop()` returns the peak in MB. */
export class RssSampler {
  #peak = process.memoryUsage.rss();
  #timer: NodeJS.Timeout;
  constructor(everyMs = 50) {
    this.#timer = setInterval(() => this.sample(), everyMs);
    this.#timer.unref();
  }
  sample(): void {
    const r = process.memoryUsage.rss();
    if (r > this.#peak) this.#peak = r;
  }
  stop(): number {
    this.sample();
    clearInterval(this.#timer);
    return round(this.#peak / (1024 * 1024), 1);
  }
}
