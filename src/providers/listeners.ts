// The in-process side of provider notifications: a set of listeners that a committed write informs.
import type { NotificationListener, ProviderNotification } from "./provider.js";

export class Listeners {
  #set = new Set<NotificationListener>();

  get size(): number {
    return this.#set.size;
  }

  add(listener: NotificationListener): () => void {
    this.#set.add(listener);
    return () => {
      this.#set.delete(listener);
    };
  }

  emit(notifications: readonly ProviderNotification[]): void {
    if (notifications.length === 0 || this.#set.size === 0) return;
    for (const n of notifications) this.deliver(n);
  }

  deliver(n: ProviderNotification): void {
    for (const l of [...this.#set]) {
      try {
        l(n);
      } catch {
        // A listener's failure must not affect the write that already committed.
      }
    }
  }

  clear(): void {
    this.#set.clear();
  }
}
