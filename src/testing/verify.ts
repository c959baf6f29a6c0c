// verifyInFlight: the deploy gate. Replays every running instance of a store against new code.
import type { Provider } from "../providers/provider.js";
import type { Runtime } from "../runtime/runtime.js";
import { Client } from "../client/client.js";
import { ManagementNotSupportedError } from "../model/errors.js";
import { replayHistory } from "./replay.js";

export interface VerifyFailure {
  instanceId: string;
  error: Error;
}

export interface VerifyResult {
  /** Running instances replayed. */
  checked: number;
  /** The instances the runtime's code would not continue (nondeterminism, unregistered orchestration, unreadable history). */
  failures: VerifyFailure[];
}

export interface VerifyOptions {
  /** Instances replayed at once (default 4). */
  concurrency?: number;
}

/**
 * Replay the current execution of every running instance in `provider` against the orchestrations
 * registered on `runtime` (it need not be started). Read-only: nothing is written, no activity runs.
 */
export async function verifyInFlight(provider: Provider, runtime: Runtime, options: VerifyOptions = {}): Promise<VerifyResult> {
  const client = new Client(provider);
  if (!client.hasManagementCapability()) throw new ManagementNotSupportedError(`provider ${provider.name} cannot list instances`);
  const ids = [...(await client.listInstancesByStatus("Running")), ...(await client.listInstancesByStatus("ContinuedAsNew"))];
  const failures: VerifyFailure[] = [];
  let checked = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const instanceId = ids[next++]!;
      try {
        const doc = await client.exportHistory(instanceId);
        const current = doc.executions.find((x) => x.executionId === doc.instance.currentExecutionId);
        // Not started yet, or between executions of a continue-as-new: no code has run on it.
        if (!current || current.events.length === 0 || current.events[current.events.length - 1]!.type === "OrchestrationContinuedAsNew") continue;
        checked++;
        await replayHistory(doc, runtime, { executions: "current" });
      } catch (err) {
        failures.push({ instanceId, error: err instanceof Error ? err : new Error(String(err)) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  failures.sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
  return { checked, failures };
}
