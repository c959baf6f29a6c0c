// The determinism guard. While orchestration code runs (inside a turn's async context), Date.now(),
// new Date() and Math.random() give values that replay identically (the time of the history event
// being handled; a random sequence seeded per instance), and setTimeout/setInterval/setImmediate/
// crypto.randomUUID() throw, naming the line and the durable alternative. Code outside orchestration
// code (activities, clients, an HTTP handler running between turns) has no scope and sees the real
// functions. The globals are patched once, on first use; "off" never patches anything.
import { AsyncLocalStorage } from "node:async_hooks";
import nodeCrypto from "node:crypto";
import { DeterminismViolationError } from "../model/errors.js";
import { callerLocation } from "./sourceLocation.js";

export type DeterminismMode = "guard" | "strict" | "off";

/** What the orchestration code of one execution sees as time and randomness. */
export interface DeterminismScope {
  readonly mode: "guard" | "strict";
  /** Time of the history event the engine delivered last (identical on replay). */
  now(): number;
  random(): number;
  /** Told before a violation is thrown, so the execution fails even if the code catches it. */
  violated(error: DeterminismViolationError): void;
}

const RealDate = Date;
const realDateNow = Date.now.bind(Date);
const realRandom = Math.random.bind(Math);
const realSetTimeout = globalThis.setTimeout;
const realSetInterval = globalThis.setInterval;
const realSetImmediate = globalThis.setImmediate;
const realWebRandomUUID = globalThis.crypto.randomUUID.bind(globalThis.crypto);
const realNodeRandomUUID = nodeCrypto.randomUUID;

/** The engine's own hop between microtask drains: never guarded. */
export const engineSetImmediate: typeof setImmediate = realSetImmediate;
/** The engine's own GUIDs (ctx.newGuid is recorded in history): never guarded. */
export const engineRandomUUID = (): string => realWebRandomUUID();

const scopes = new AsyncLocalStorage<DeterminismScope>();

export function currentScope(): DeterminismScope | undefined {
  return installed ? scopes.getStore() : undefined;
}

/** Run `fn` (and everything it schedules) as orchestration code under `scope`. */
export function runInScope<T>(scope: DeterminismScope, fn: () => T): T {
  installGuard();
  return scopes.run(scope, fn);
}

/** Run library code (logging) called from orchestration code with the real functions. */
export function outsideScope<T>(fn: () => T): T {
  return installed ? scopes.exit(fn) : fn();
}

function violation(what: string, instead: string): never {
  const at = callerLocation();
  const err = new DeterminismViolationError(
    `${what} is not allowed in orchestration code${at ? ` (at ${at})` : ""}: it does not replay deterministically; ${instead}`,
    at,
  );
  scopes.getStore()?.violated(err);
  throw err;
}

/** 32-bit seeded generator (mulberry32): the same seed gives the same sequence on every replay. */
export function seededRandom(seedText: string): () => number {
  let h = 2166136261;
  for (let i = 0; i < seedText.length; i++) h = Math.imul(h ^ seedText.charCodeAt(i), 16777619);
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let installed = false;

function installGuard(): void {
  if (installed) return;
  installed = true;

  const guardedNow = (): number => {
    const s = scopes.getStore();
    if (!s) return realDateNow();
    if (s.mode === "strict") violation("Date.now()", "use `await ctx.utcNow()`");
    return s.now();
  };
  function GuardedDate(this: unknown, ...args: unknown[]): unknown {
    const s = scopes.getStore();
    if (new.target === undefined) {
      // Date() called as a function returns the current time as a string.
      if (!s) return RealDate();
      if (s.mode === "strict") violation("Date()", "use `await ctx.utcNow()`");
      return new RealDate(s.now()).toString();
    }
    if (args.length === 0 && s) {
      if (s.mode === "strict") violation("new Date()", "use `new Date(await ctx.utcNow())`");
      return Reflect.construct(RealDate, [s.now()], new.target);
    }
    return Reflect.construct(RealDate, args, new.target);
  }
  // Same prototype: `instanceof Date` holds for dates made before and after the patch.
  GuardedDate.prototype = RealDate.prototype;
  Object.defineProperties(GuardedDate, {
    now: { value: guardedNow, writable: true, configurable: true },
    parse: { value: RealDate.parse, writable: true, configurable: true },
    UTC: { value: RealDate.UTC, writable: true, configurable: true },
  });
  globalThis.Date = GuardedDate as unknown as DateConstructor;

  Math.random = function random(): number {
    const s = scopes.getStore();
    if (!s) return realRandom();
    if (s.mode === "strict") violation("Math.random()", "use `await ctx.newGuid()` or an activity");
    return s.random();
  };

  const guardTimer = <F extends (...a: never[]) => unknown>(name: string, real: F, instead: string): F =>
    Object.assign(function (this: unknown, ...args: Parameters<F>) {
      if (scopes.getStore()) violation(`${name}()`, instead);
      return real.apply(this, args);
    }, real) as unknown as F;
  globalThis.setTimeout = guardTimer("setTimeout", realSetTimeout, "use `await ctx.scheduleTimer(ms)`");
  globalThis.setInterval = guardTimer("setInterval", realSetInterval, "use a loop of `await ctx.scheduleTimer(ms)`");
  globalThis.setImmediate = guardTimer("setImmediate", realSetImmediate, "await a durable task instead");
  const uuid = (real: () => string) =>
    function randomUUID(this: unknown): string {
      if (scopes.getStore()) violation("crypto.randomUUID()", "use `await ctx.newGuid()`");
      return real.call(this);
    };
  globalThis.crypto.randomUUID = uuid(realWebRandomUUID) as typeof globalThis.crypto.randomUUID;
  nodeCrypto.randomUUID = uuid(realNodeRandomUUID) as typeof nodeCrypto.randomUUID;
}
