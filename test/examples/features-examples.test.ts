// Runs the feature examples (queues + status + continue-as-new, sessions, versioning, retries).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { main as chatBot } from "../../examples/chat-bot.js";
import { main as sessionAffinity } from "../../examples/session-affinity.js";
import { main as versionedRollout } from "../../examples/versioned-rollout.js";
import { main as retryWithBackoff } from "../../examples/retry-with-backoff.js";
import { main as payments } from "../../examples/payments.js";

describe("feature examples", () => {
  it("chat-bot: queue-fed replies in order, status updates, continue-as-new", async () => {
    const r = await chatBot({ quiet: true });
    assert.equal(r.replies.length, 4);
    assert.equal(r.replies[0], "Hello! What can I do for you?");
    assert.equal(r.replies[1], "Sunny with a chance of durable timers.");
    assert.match(r.replies[3]!, /thanks/);
    assert.equal(r.executions, 3);
    assert.equal(r.summary, "conversation of 4 turns about: hello, weather, tell, thanks");
  });

  it("session-affinity: every conversation stays on one worker and hits its cache", async () => {
    const r = await sessionAffinity({ quiet: true });
    const conversations = Object.values(r.workersPerConversation);
    assert.equal(conversations.length, 4);
    for (const workers of conversations) assert.equal(workers.length, 1);
    assert.equal(r.cacheMisses, 4);
    assert.equal(r.cacheHits, 8);
  });

  it("versioned-rollout: in-flight stays on v1, new on v2, continue-as-new upgrades", async () => {
    const r = await versionedRollout({ quiet: true });
    assert.equal(r.inFlight.version, "1.0.0");
    assert.match(r.inFlight.output, /shipped by Order v1\.0\.0$/);
    assert.equal(r.newOrder.version, "2.0.0");
    assert.match(r.newOrder.output, /shipped by Order v2\.0\.0$/);
    assert.deepEqual(r.eternal, ["v1@1.0.0", "v2@2.0.0", "v2@2.0.0"]);
  });

  it("retry-with-backoff: third attempt succeeds after durable exponential backoff; timeout falls back", async () => {
    const r = await retryWithBackoff({ quiet: true });
    assert.equal(r.quote, "CTSO: 101.25");
    assert.equal(r.attempts, 3);
    assert.equal(r.backoffTimers.length, 2);
    assert.ok(Math.abs(r.backoffTimers[0]! - 50) <= 3 && Math.abs(r.backoffTimers[1]! - 100) <= 3, `timers ${r.backoffTimers}`);
    assert.equal(r.slowPath, "cached (timeout: activity timed out)");
  });

  it("payments: a decline is not retried, a hung export is replaced and resumes, the patched fix spares old orders", async () => {
    const r = await payments({ quiet: true });
    assert.equal(r.declined.code, "card_declined");
    assert.deepEqual(r.declined.details, { reason: "insufficient_funds", amount: 4_200 });
    assert.equal(r.declined.attempts, 1);
    assert.match(r.charged, /^charged 1999 to 4242/);
    assert.equal(r.export.attempts, 2);
    assert.equal(r.export.resumedFrom, 7);
    assert.equal(r.export.lateResultRecorded, false);
    assert.deepEqual(r.patch, { oldOrder: 14_400, newOrder: 12_000 });
  });
});
