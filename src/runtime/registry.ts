// Registries: orchestration name → semver-ordered versions → handler; activity name → handler.
import { InvalidArgumentError } from "../model/errors.js";
import { checkIdentifier } from "../model/identifiers.js";
import { compareSemver, parseSemver } from "../model/semver.js";
import type { OrchestrationHandler } from "../orchestration/handler.js";
import type { ActivityContext } from "../activity/context.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ActivityHandler<TIn = any, TOut = unknown> = (ctx: ActivityContext, input: TIn) => Promise<TOut> | TOut;

export const DEFAULT_VERSION = "1.0.0";
/** Names reserved for the runtime's own use. */
export const RESERVED_PREFIX = "__duroxide_syscall:";

export class OrchestrationRegistry {
  #byName = new Map<string, Map<string, OrchestrationHandler>>();
  #latest = new Map<string, string>();

  register(name: string, version: string, handler: OrchestrationHandler): void {
    checkIdentifier("orchestration name", name);
    if (typeof handler !== "function") throw new InvalidArgumentError(`orchestration '${name}' handler must be a function`);
    if (!parseSemver(version)) throw new InvalidArgumentError(`orchestration '${name}' version '${version}' is not semver (x.y.z)`);
    let versions = this.#byName.get(name);
    if (!versions) this.#byName.set(name, (versions = new Map()));
    if (versions.has(version)) throw new InvalidArgumentError(`orchestration '${name}' version ${version} is already registered`);
    versions.set(version, handler);
    const cur = this.#latest.get(name);
    if (!cur || compareSemver(version, cur) > 0) this.#latest.set(name, version);
  }

  /** Exact version, or the latest when `version` is null. */
  resolve(name: string, version: string | null): { version: string; handler: OrchestrationHandler } | null {
    const versions = this.#byName.get(name);
    if (!versions) return null;
    const v = version ?? this.#latest.get(name)!;
    const handler = versions.get(v);
    return handler ? { version: v, handler } : null;
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }
  versions(name: string): string[] {
    return [...(this.#byName.get(name)?.keys() ?? [])].sort(compareSemver);
  }
}

export class ActivityRegistry {
  #byName = new Map<string, ActivityHandler>();

  register(name: string, handler: ActivityHandler): void {
    checkIdentifier("activity name", name);
    if (name.startsWith(RESERVED_PREFIX)) throw new InvalidArgumentError(`activity name '${name}' uses the reserved prefix ${RESERVED_PREFIX}`);
    if (typeof handler !== "function") throw new InvalidArgumentError(`activity '${name}' handler must be a function`);
    if (this.#byName.has(name)) throw new InvalidArgumentError(`activity '${name}' is already registered`);
    this.#byName.set(name, handler);
  }

  resolve(name: string): ActivityHandler | null {
    return this.#byName.get(name) ?? null;
  }
  names(): string[] {
    return [...this.#byName.keys()];
  }
}
