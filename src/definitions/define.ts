// Typed definitions: defineActivity / defineOrchestration return handles that carry the name (so a
// misspelt name cannot be written), the input and output types (so ctx.call, callSubOrchestration,
// client.start and client.result are checked by tsc), and optional Standard Schemas (inputs checked
// where the call is made, outputs where the handler returns). Register them with runtime.register().
import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { ActivityContext } from "../activity/context.js";
import type { OrchestrationContext } from "../orchestration/context.js";
import type { ActivityRef, OrchestrationRef } from "../model/definitions.js";
import { InvalidArgumentError } from "../model/errors.js";
import { isStandardSchema, validateLater, validateNow } from "./schema.js";

/** What a generator orchestration returns. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type OrchestrationGenerator<T> = Generator<unknown, T, any>;

/** The output type of a handler's return value (promise and generator forms unwrapped). */
export type HandlerOutput<R> = R extends OrchestrationGenerator<infer T> ? T : Awaited<R>;
/** Output type: the output schema's when given, else the handler's. */
type Out<R, OS> = OS extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<OS> : HandlerOutput<R>;

export interface DefinitionSchemas<IS extends StandardSchemaV1 | undefined, OS extends StandardSchemaV1 | undefined> {
  /** Validates inputs where the call is made (ctx.call / callSubOrchestration / client.start). */
  input?: IS;
  /** Validates the output where the handler returns. */
  output?: OS;
}

export type ActivityDefinitionOptions<IS extends StandardSchemaV1 | undefined = undefined, OS extends StandardSchemaV1 | undefined = undefined> =
  DefinitionSchemas<IS, OS>;

export interface OrchestrationDefinitionOptions<IS extends StandardSchemaV1 | undefined = undefined, OS extends StandardSchemaV1 | undefined = undefined>
  extends DefinitionSchemas<IS, OS> {
  /** Semver version (default "1.0.0"). Define one handle per version; new instances start on the latest. */
  version?: string;
}

/** A typed activity: register it, then `ctx.call(handle, input)`. */
export interface ActivityDefinition<I, O> extends ActivityRef<I, O> {
  /** The handler as registered (output validation included). */
  readonly handler: (ctx: ActivityContext, input: never) => Promise<unknown>;
}

/** A typed orchestration: register it, then `client.start(handle, id, input)` or `ctx.callSubOrchestration(handle, input)`. */
export interface OrchestrationDefinition<I, O> extends OrchestrationRef<I, O> {
  readonly version: string;
  /** The handler as registered (output validation included). */
  readonly handler: (ctx: OrchestrationContext, input: never) => unknown;
}

/** Any definition, for `runtime.register(...)`. */
export type AnyDefinition = ActivityDefinition<never, unknown> | OrchestrationDefinition<never, unknown>;

function requireDefinitionName(kind: string, name: unknown): string {
  if (typeof name !== "string" || name.length === 0) throw new InvalidArgumentError(`${kind} name must be a non-empty string`);
  return name;
}

function schemasOf(kind: string, name: string, options: DefinitionSchemas<StandardSchemaV1 | undefined, StandardSchemaV1 | undefined> | undefined) {
  const input = options?.input;
  const output = options?.output;
  for (const [k, s] of [["input", input], ["output", output]] as const)
    if (s !== undefined && !isStandardSchema(s))
      throw new InvalidArgumentError(`${kind} '${name}': options.${k} must be a Standard Schema (zod, valibot, arktype, ...)`);
  return { input, output };
}

function inputChecker(what: string, schema: StandardSchemaV1 | undefined): (input: unknown) => unknown {
  return schema ? (input) => validateNow(schema, input, what) : (input) => input;
}

// ---------------------------------------------------------------------------------------------

/** Define an activity whose input is validated by `options.input` (its types come from the schema). */
export function defineActivity<IS extends StandardSchemaV1, R, OS extends StandardSchemaV1 | undefined = undefined>(
  name: string,
  handler: (ctx: ActivityContext, input: StandardSchemaV1.InferOutput<IS>) => R,
  options: ActivityDefinitionOptions<IS, OS> & { input: IS },
): ActivityDefinition<StandardSchemaV1.InferInput<IS>, Out<R, OS>>;
/** Define an activity; its input type is the handler's parameter type, its output the handler's result. */
export function defineActivity<I, R, OS extends StandardSchemaV1 | undefined = undefined>(
  name: string,
  handler: (ctx: ActivityContext, input: I) => R,
  options?: ActivityDefinitionOptions<undefined, OS>,
): ActivityDefinition<I, Out<R, OS>>;
export function defineActivity(
  name: string,
  handler: (ctx: ActivityContext, input: unknown) => unknown,
  options?: ActivityDefinitionOptions<StandardSchemaV1 | undefined, StandardSchemaV1 | undefined>,
): ActivityDefinition<unknown, unknown> {
  requireDefinitionName("activity", name);
  if (typeof handler !== "function") throw new InvalidArgumentError(`activity '${name}' handler must be a function`);
  const { input, output } = schemasOf("activity", name, options);
  const outWhat = `output of activity '${name}'`;
  return Object.freeze({
    kind: "activity" as const,
    name,
    checkInput: inputChecker(`input of activity '${name}'`, input),
    handler: async (ctx: ActivityContext, value: unknown): Promise<unknown> => {
      const out = await handler(ctx, value);
      return output ? validateLater(output, out, outWhat) : out;
    },
  });
}

/** Define an orchestration whose input is validated by `options.input` (its types come from the schema). */
export function defineOrchestration<IS extends StandardSchemaV1, R, OS extends StandardSchemaV1 | undefined = undefined>(
  name: string,
  handler: (ctx: OrchestrationContext, input: StandardSchemaV1.InferOutput<IS>) => R,
  options: OrchestrationDefinitionOptions<IS, OS> & { input: IS },
): OrchestrationDefinition<StandardSchemaV1.InferInput<IS>, Out<R, OS>>;
/** Define an orchestration (async function or generator); types come from the handler. */
export function defineOrchestration<I, R, OS extends StandardSchemaV1 | undefined = undefined>(
  name: string,
  handler: (ctx: OrchestrationContext, input: I) => R,
  options?: OrchestrationDefinitionOptions<undefined, OS>,
): OrchestrationDefinition<I, Out<R, OS>>;
export function defineOrchestration(
  name: string,
  handler: (ctx: OrchestrationContext, input: unknown) => unknown,
  options?: OrchestrationDefinitionOptions<StandardSchemaV1 | undefined, StandardSchemaV1 | undefined>,
): OrchestrationDefinition<unknown, unknown> {
  requireDefinitionName("orchestration", name);
  if (typeof handler !== "function") throw new InvalidArgumentError(`orchestration '${name}' handler must be a function`);
  const { input, output } = schemasOf("orchestration", name, options);
  const version = options?.version ?? "1.0.0";
  const outWhat = `output of orchestration '${name}'`;
  const check = (v: unknown): unknown => (output ? validateNow(output, v, outWhat) : v);
  return Object.freeze({
    kind: "orchestration" as const,
    name,
    version,
    checkInput: inputChecker(`input of orchestration '${name}'`, input),
    handler: output
      ? (ctx: OrchestrationContext, value: unknown): unknown => {
          const r = handler(ctx, value);
          if (isGenerator(r)) return checkedGenerator(r, check);
          if (isThenable(r)) return Promise.resolve(r).then(check);
          return check(r);
        }
      : handler,
  });
}

function* checkedGenerator(gen: Generator<unknown, unknown, unknown>, check: (v: unknown) => unknown): Generator<unknown, unknown, unknown> {
  return check(yield* gen);
}

function isGenerator(x: unknown): x is Generator<unknown, unknown, unknown> {
  return typeof x === "object" && x !== null && typeof (x as Generator).next === "function" && typeof (x as Generator).throw === "function";
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (typeof x === "object" || typeof x === "function") && x !== null && typeof (x as PromiseLike<unknown>).then === "function";
}

