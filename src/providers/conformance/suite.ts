// Provider conformance suite: the behaviours every Provider implementation must share, one file
// per category. Register it from a test file: `runProviderConformance("sqlite-file", factory)`.
import { describe } from "node:test";

import { suiteContext, type ConformanceOptions, type ProviderFactory } from "./harness.js";
import { registerInstanceCreation } from "./instanceCreation.js";
import { registerAtomicAck } from "./atomicAck.js";
import { registerOrchestrationLocks } from "./orchestrationLocks.js";
import { registerVisibility } from "./visibility.js";
import { registerWorkerQueue } from "./workerQueue.js";
import { registerActivityCancellation } from "./activityCancellation.js";
import { registerTagFilters } from "./tagFilters.js";
import { registerSessions } from "./sessions.js";
import { registerCustomStatus } from "./customStatus.js";
import { registerKeyValue } from "./keyValue.js";
import { registerHistoryLoading } from "./historyLoading.js";
import { registerNotifications } from "./notifications.js";
import { registerAdminQueries } from "./adminQueries.js";
import { runManagementConformance } from "./management.js";
import { registerHeartbeats } from "./heartbeats.js";
import { registerDrainHints } from "./drainHints.js";
import { registerAckLeases } from "./ackLeases.js";
import { registerWorkAckLocks } from "./workAckLocks.js";
import { registerConcurrentWrites } from "./concurrentWrites.js";
import { registerBatchFetch } from "./batchFetch.js";
import { registerCompletionTurns } from "./completionTurns.js";
import { registerStartTurns } from "./startTurns.js";

export type { ConformanceOptions, ProviderFactory } from "./harness.js";

export function runProviderConformance(name: string, factory: ProviderFactory, options: ConformanceOptions = {}): void {
  const ctx = suiteContext(name, factory, options);
  describe(`provider conformance: ${name}`, () => {
    registerInstanceCreation(ctx);
    registerAtomicAck(ctx);
    registerOrchestrationLocks(ctx);
    registerVisibility(ctx);
    registerWorkerQueue(ctx);
    registerActivityCancellation(ctx);
    registerTagFilters(ctx);
    registerSessions(ctx);
    registerCustomStatus(ctx);
    registerKeyValue(ctx);
    registerHistoryLoading(ctx);
    registerNotifications(ctx);
    registerAdminQueries(ctx);
    registerHeartbeats(ctx);
    registerDrainHints(ctx, options.drainHints === true);
    registerAckLeases(ctx, options.ackLeases === true);
    registerWorkAckLocks(ctx, options.workAckLocks === true);
    registerConcurrentWrites(ctx);
    registerBatchFetch(ctx, options.batchFetch === true);
    registerCompletionTurns(ctx, options.completionTurns === true, options.workAckLocks === true);
    registerStartTurns(ctx, options.startTurns === true);
  });
  runManagementConformance(name, factory);
}
