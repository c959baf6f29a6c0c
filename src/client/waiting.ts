// Wait for a condition on an instance: woken by provider notifications, with polling as the floor
// (5 ms doubling to 100 ms) so it also sees changes made by other processes.
import type { Provider } from "../providers/provider.js";
import { TimeoutError } from "../model/errors.js";

export async function waitFor<T>(
  provider: Provider,
  instance: string,
  check: () => Promise<T | null>,
  timeoutMs: number,
  maxPollMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let wake: (() => void) | null = null;
  let woken = false;
  const unsubscribe = provider.subscribe((n) => {
    if (n.kind === "instanceChanged" && n.instance === instance) {
      woken = true;
      wake?.();
    }
  });
  try {
    let pollMs = 5;
    for (;;) {
      woken = false;
      const r = await check();
      if (r !== null) return r;
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError();
      if (!woken) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, Math.min(pollMs, left));
          function done(): void {
            clearTimeout(t);
            wake = null;
            resolve();
          }
          wake = done;
        });
      }
      pollMs = Math.min(pollMs * 2, maxPollMs);
    }
  } finally {
    unsubscribe();
  }
}
