// What a queue row becomes once its unreadable payload has been moved to the dead letters while
// its instance exists: a small readable notice in the same place, locked with the same turn. The
// fetch reports it as `OrchestrationItem.deadLettered` on every fetch until a turn is acked, so a
// process that dies between that fetch and its ack cannot leave the instance running for good.
import type { DeadLetteredMessage } from "../model/errors.js";

/** The `item_type` of a notice row (never a start: a notice never creates an instance). */
export const DEAD_LETTER_NOTICE_TYPE = "DeadLetterNotice";

const KEY = "duroxideDeadLetterNotice";
const PREFIX = `{"${KEY}":`;

export function encodeDeadLetterNotice(m: DeadLetteredMessage): string {
  return JSON.stringify({ [KEY]: { deadLetterId: m.deadLetterId, messageId: m.messageId, kind: m.kind, error: m.error } });
}

/** The notice a queue row holds, or null when the row is something else (a work item, or garbage). */
export function decodeDeadLetterNotice(payload: string): DeadLetteredMessage | null {
  if (!payload.startsWith(PREFIX)) return null;
  try {
    const v = (JSON.parse(payload) as Record<string, unknown>)[KEY] as Record<string, unknown> | undefined;
    if (!v || typeof v["deadLetterId"] !== "number" || typeof v["messageId"] !== "number" || typeof v["error"] !== "string") return null;
    const kind = typeof v["kind"] === "string" ? v["kind"] : null;
    return { deadLetterId: v["deadLetterId"], messageId: v["messageId"], kind, error: v["error"] };
  } catch {
    return null;
  }
}
