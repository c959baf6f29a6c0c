// A wake-up signal: dispatchers sleep on it and providers' notifications (or timers) ring it.
export class WakeSignal {
  #waiters: Array<() => void> = [];
  #pending = false;

  /** Resolve after `ms`, or earlier when notified. A notification with no sleeper is remembered. */
  wait(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      timer = setTimeout(() => {
        const i = this.#waiters.indexOf(done);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve();
      }, ms);
      this.#waiters.push(done);
    });
  }

  /** Wake one sleeper (or remember the wake-up). */
  notifyOne(): void {
    const w = this.#waiters.shift();
    if (w) w();
    else this.#pending = true;
  }

  notifyAll(): void {
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w();
    if (ws.length === 0) this.#pending = true;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
