// A counting semaphore for dispatcher concurrency.
export class Slots {
  #free: number;
  #waiters: Array<() => void> = [];
  /**
   * How many of the busy slots the fetch loop holds for a fetch in flight (set by the loop): those
   * it does not fill go back at its answer, so they are not taken by running work.
   */
  fetching = 0;

  constructor(readonly size: number) {
    this.#free = size;
  }

  get busy(): number {
    return this.size - this.#free;
  }

  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Takes up to `n` free slots without waiting; returns how many it took. */
  tryAcquire(n: number): number {
    const k = Math.max(0, Math.min(n, this.#free));
    this.#free -= k;
    return k;
  }

  release(): void {
    const w = this.#waiters.shift();
    if (w) w();
    else this.#free++;
  }

  /** Resolves when every slot is free. */
  async drained(): Promise<void> {
    while (this.#free < this.size) await new Promise((r) => setTimeout(r, 5));
  }
}
