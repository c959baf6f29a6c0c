// Names the line of user code that made a call into the engine. Used only once a mismatch is
// detected, so the normal path never captures a stack.

/** Frames in this package's own compiled sources (dist/src/...) are ours, not the user's. */
const OWN_ROOT: string | null = (() => {
  const file = frameFile(new Error().stack?.split("\n")[1] ?? "");
  if (!file) return null;
  // .../src/orchestration/sourceLocation.js → .../src/
  const parts = file.split(/[\\/]/);
  return parts.length > 2 ? parts.slice(0, -2).join("/") + "/" : null;
})();

function frameFile(frame: string): string | null {
  const m = /\(?((?:file:\/\/)?[^\s()]+):\d+:\d+\)?\s*$/.exec(frame.trim());
  if (!m) return null;
  return m[1]!.replace(/^file:\/\//, "").replace(/\\/g, "/");
}

function frameLocation(frame: string): string | null {
  const m = /\(?((?:file:\/\/)?[^\s()]+:\d+:\d+)\)?\s*$/.exec(frame.trim());
  return m ? m[1]! : null;
}

/**
 * `file:line:column` of the first stack frame outside this package and outside Node's
 * internals, as the stack shows it; null when there is none.
 */
export function callerLocation(): string | null {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 64;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  for (const line of stack.split("\n").slice(1)) {
    const file = frameFile(line);
    if (!file || file.startsWith("node:") || file.includes("/node:internal") || file.startsWith("internal/")) continue;
    if (OWN_ROOT && file.replace(/^file:\/\//, "").startsWith(OWN_ROOT)) continue;
    return frameLocation(line);
  }
  return null;
}
