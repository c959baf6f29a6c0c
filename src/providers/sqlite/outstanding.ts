// The locks this provider handed out (orchestration items, activity leases) that have not come
// back yet (acked, abandoned). While another one is out, its ack is likely to follow soon, so a
// write waits to share that commit (groupCommit.ts); when none is, nothing will come to share it
// and the write commits at once. Only a hint for grouping: a lock that lapsed is dropped.
export class Outstanding {
  readonly #until = new Map<string, number>();

  add(lockToken: string, lockTimeoutMs: number): void {
    this.#until.set(lockToken, Date.now() + lockTimeoutMs);
  }

  delete(lockToken: string): void {
    this.#until.delete(lockToken);
  }

  /** Whether a lock other than `lockToken` is out and has not lapsed. */
  othersThan(lockToken: string | null): boolean {
    if (this.#until.size === 0) return false;
    const now = Date.now();
    for (const [token, until] of this.#until) {
      if (until <= now) this.#until.delete(token);
      else if (token !== lockToken) return true;
    }
    return false;
  }
}
