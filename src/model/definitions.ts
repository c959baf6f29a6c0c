// What the engine and the client need to know about a typed definition (src/definitions builds
// them): its name, version, and how to check an input where the call is made. The input and
// output types ride on a type-only marker, so `ctx.call(handle, input)` and `client.start(handle,
// id, input)` are checked by tsc without the engine knowing any handler.

interface DefinitionRef<I, O> {
  readonly name: string;
  /** Orchestrations: the version this handle was defined for (absent: the latest registered). */
  readonly version?: string | undefined;
  /** Validates (and may transform) an input before it is recorded; throws ValidationError. */
  checkInput(input: unknown): unknown;
  /** Type-only marker carrying the input and output types; never set at run time. */
  readonly "~types"?: (input: I) => O;
}

/** A typed activity: what `ctx.call` accepts. Made by `defineActivity`. */
export interface ActivityRef<I, O> extends DefinitionRef<I, O> {
  readonly kind: "activity";
}

/** A typed orchestration: what `ctx.callSubOrchestration` and `client.start` accept. Made by `defineOrchestration`. */
export interface OrchestrationRef<I, O> extends DefinitionRef<I, O> {
  readonly kind: "orchestration";
}

/** Any typed activity or orchestration handle. */
export type AnyActivityRef = ActivityRef<never, unknown>;
export type AnyOrchestrationRef = OrchestrationRef<never, unknown>;

/** The input a handle's callers pass. */
export type InputOf<R> = R extends DefinitionRef<infer I, unknown> ? I : never;
/** The output a handle's callers receive. */
export type OutputOf<R> = R extends DefinitionRef<never, infer O> ? O : never;
