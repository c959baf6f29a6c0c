// Standard Schema checks (https://standardschema.dev types only): zod, valibot, arktype and
// others implement `~standard.validate`. A failure becomes a ValidationError with the issue paths.
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { InvalidArgumentError, ValidationError, type ValidationIssue } from "../model/errors.js";

function issuesOf(result: StandardSchemaV1.FailureResult): ValidationIssue[] {
  return result.issues.map((i) => ({
    message: i.message,
    path: (i.path ?? []).map((p) => (typeof p === "object" && p !== null ? p.key : p)),
  }));
}

/**
 * Validate synchronously (orchestration code cannot wait for anything but durable tasks, and the
 * call must record its decision in the same step). Returns the schema's output value.
 */
export function validateNow<S extends StandardSchemaV1>(schema: S, value: unknown, what: string): StandardSchemaV1.InferOutput<S> {
  const r = schema["~standard"].validate(value);
  if (r instanceof Promise) {
    r.catch(() => undefined);
    throw new InvalidArgumentError(`${what}: the schema validates asynchronously; use a synchronous schema for definitions`);
  }
  if (r.issues) throw new ValidationError(what, issuesOf(r));
  return (r as StandardSchemaV1.SuccessResult<StandardSchemaV1.InferOutput<S>>).value;
}

/** Validate, waiting for asynchronous schemas (used where the caller can wait: activity outputs). */
export async function validateLater<S extends StandardSchemaV1>(schema: S, value: unknown, what: string): Promise<StandardSchemaV1.InferOutput<S>> {
  const r = await schema["~standard"].validate(value);
  if (r.issues) throw new ValidationError(what, issuesOf(r));
  return (r as StandardSchemaV1.SuccessResult<StandardSchemaV1.InferOutput<S>>).value;
}

export function isStandardSchema(x: unknown): x is StandardSchemaV1 {
  return (
    (typeof x === "object" || typeof x === "function") &&
    x !== null &&
    typeof (x as { "~standard"?: { validate?: unknown } })["~standard"]?.validate === "function"
  );
}
