// FIFO per-name mailbox used for external events and event queues.
// Messages are buffered until a waiter consumes them; a cancelled waiter consumes nothing.
import type { DurableFuture } from "./future.js";

interface Waiter {
  future: DurableFuture<unknown>;
  deliver: (data: string) => void;
}

export class Mailbox {
  #buffered = new Map<string, string[]>();
  #waiters = new Map<string, Waiter[]>();

  /** Hand `data` to the oldest waiter of `name`, or buffer it. */
  deliver(name: string, data: string): void {
    const ws = this.#waiters.get(name);
    const w = ws?.shift();
    if (w) {
      w.deliver(data);
      return;
    }
    let b = this.#buffered.get(name);
    if (!b) this.#buffered.set(name, (b = []));
    b.push(data);
  }

  /** Register a waiter; it is satisfied at once when a message is already buffered. */
  wait(name: string, future: DurableFuture<unknown>, deliver: (data: string) => void): void {
    const b = this.#buffered.get(name);
    if (b && b.length > 0) {
      deliver(b.shift()!);
      return;
    }
    let ws = this.#waiters.get(name);
    if (!ws) this.#waiters.set(name, (ws = []));
    ws.push({ future, deliver });
  }

  /** Remove a waiter without consuming anything. Returns whether it was waiting. */
  withdraw(name: string, future: DurableFuture<unknown>): boolean {
    const ws = this.#waiters.get(name);
    if (!ws) return false;
    const i = ws.findIndex((w) => w.future === future);
    if (i < 0) return false;
    ws.splice(i, 1);
    return true;
  }

  /** Waiters still pending, in subscription order. */
  pendingWaiters(): DurableFuture<unknown>[] {
    const out: DurableFuture<unknown>[] = [];
    for (const ws of this.#waiters.values()) for (const w of ws) out.push(w.future);
    return out;
  }

  /** Unconsumed messages in arrival order per name. */
  unconsumed(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [name, msgs] of this.#buffered) for (const m of msgs) out.push([name, m]);
    return out;
  }
}
