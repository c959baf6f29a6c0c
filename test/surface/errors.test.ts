// The library's errors live in one module: every exported error class extends DuroxideError and
// carries a stable string `code`, and the public entry point exports them all.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import * as api from "../../src/index.js";
import * as errorsModule from "../../src/model/errors.js";

const details = api.ErrorDetails.activityFailed("boom");

const samples: Array<[api.DuroxideError, string, string]> = [
  [new api.TaskFailedError(details), "TaskFailedError", "TaskFailed"],
  [new api.ActivityFailedError(details), "ActivityFailedError", "ActivityFailed"],
  [new api.SubOrchestrationFailedError(details), "SubOrchestrationFailedError", "SubOrchestrationFailed"],
  [new api.TaskCancelledError("activity"), "TaskCancelledError", "TaskCancelled"],
  [new api.NondeterminismError("x"), "NondeterminismError", "Nondeterminism"],
  [new api.OrchestrationNotRegisteredError("Orch", "1.0.0"), "OrchestrationNotRegisteredError", "OrchestrationNotRegistered"],
  [new api.InvalidHistoryError("bad document"), "InvalidHistoryError", "InvalidHistory"],
  [new api.TimeoutError(), "TimeoutError", "GenericFailure"],
  [new api.InstanceAlreadyExistsError("i"), "InstanceAlreadyExistsError", "InstanceAlreadyExists"],
  [new api.InstanceNotFoundError("i"), "InstanceNotFoundError", "InstanceNotFound"],
  [new api.InvalidArgumentError("bad"), "InvalidArgumentError", "InvalidArgument"],
  [new api.InvalidIdentifierError("instanceId", "must not contain NUL"), "InvalidIdentifierError", "InvalidIdentifier"],
  [new api.OrchestrationFailedError("i", null, "failed"), "OrchestrationFailedError", "OrchestrationFailed"],
  [new api.ProviderError("op", "down", true), "ProviderError", "ProviderError"],
  [new api.InstanceStillRunningError("i"), "InstanceStillRunningError", "InstanceStillRunning"],
  [new api.CannotDeleteSubOrchestrationError("i::sub::1", "i"), "CannotDeleteSubOrchestrationError", "CannotDeleteSubOrchestration"],
  [new api.ManagementNotSupportedError("no admin"), "ManagementNotSupportedError", "ManagementNotSupported"],
  [new api.UnsupportedPayloadError("input", "$.a", "a Map"), "UnsupportedPayloadError", "UnsupportedPayload"],
  [new api.PayloadTooLargeError("input", 10, 5), "PayloadTooLargeError", "PayloadTooLarge"],
  [new api.ValidationError("input", [{ message: "Required", path: ["a", 0] }]), "ValidationError", "ValidationFailed"],
  [new api.PayloadCodecError("bad key"), "PayloadCodecError", "PayloadCodecFailed"],
  [new api.InvalidHistoryError("unknown format"), "InvalidHistoryError", "InvalidHistory"],
  [new api.OrchestrationNotRegisteredError("Order", "1.0.0"), "OrchestrationNotRegisteredError", "OrchestrationNotRegistered"],
  [new api.NonRetryableError("declined"), "NonRetryableError", "NonRetryable"],
  [new api.NonRetryableError("declined", { code: "card_declined" }), "NonRetryableError", "card_declined"],
  [new api.HeartbeatTimeoutError("Export", 500), "HeartbeatTimeoutError", "HeartbeatTimeout"],
  // A task failure takes the name and code of the error the activity threw.
  [
    new api.ActivityFailedError(api.ErrorDetails.activityFailed("declined", false, { errorName: "CardDeclinedError", code: "card_declined" })),
    "CardDeclinedError",
    "card_declined",
  ],
  [new api.DriverNotInstalledError("pg", "PostgresProvider"), "DriverNotInstalledError", "DriverNotInstalled"],
];

function errorClasses(mod: Record<string, unknown>): Array<[string, Function]> {
  return Object.entries(mod).filter(
    (e): e is [string, Function] => typeof e[1] === "function" && e[1].prototype instanceof Error,
  );
}

describe("errors module", () => {
  it("every error class the package exports is defined in model/errors and extends DuroxideError", () => {
    const exported = errorClasses(api as unknown as Record<string, unknown>);
    assert.ok(exported.length >= new Set(samples.map(([e]) => e.constructor)).size);
    for (const [name, cls] of exported) {
      assert.equal((errorsModule as Record<string, unknown>)[name], cls, `${name} comes from model/errors`);
      if (cls !== api.DuroxideError) assert.ok(cls.prototype instanceof api.DuroxideError, `${name} extends DuroxideError`);
    }
  });

  it("every error class gets its own stable code, and the samples here have the documented ones", () => {
    // Built generically (strings, error details, or a string and a list), so a new
    // class is covered without a sample; it must not fall back to the base class's code.
    for (const [name, cls] of errorClasses(errorsModule as unknown as Record<string, unknown>)) {
      if (cls === api.DuroxideError) continue;
      const Ctor = cls as new (...args: unknown[]) => api.DuroxideError;
      let err: api.DuroxideError | undefined;
      for (const args of [["x", "y", "z"], [details], ["x", []]]) {
        try {
          err = new Ctor(...args);
          break;
        } catch {
          // try the next argument shape
        }
      }
      assert.ok(err, `${name} can be constructed from strings, error details or (string, [])`);
      assert.equal(err.name, name);
      assert.equal(typeof err.code, "string", `${name}.code`);
      assert.ok(err.code.length > 0 && err.code !== "Duroxide", `${name} sets its own code (got ${err.code})`);
    }
    for (const [err, name, code] of samples) {
      assert.ok(err instanceof api.DuroxideError);
      assert.ok(err instanceof Error);
      assert.equal(err.name, name);
      assert.equal(err.code, code);
      assert.equal(typeof err.message, "string");
    }
  });

  it("task failures keep their subclass identity and details", () => {
    const e = new api.ActivityFailedError(details);
    assert.ok(e instanceof api.TaskFailedError);
    assert.equal(e.message, "boom");
    assert.equal(e.category(), "application");
  });
});
