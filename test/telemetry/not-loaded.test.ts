// Without telemetry hooks nothing of OpenTelemetry is loaded: a child process runs a workflow and
// reports every module it resolved (ESM, through a loader hook) and every CommonJS module it loaded.
// The same child with the hooks does load @opentelemetry/api, so the check can fail.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

const CHILD = fileURLToPath(new URL("./plain-child.js", import.meta.url));

async function loadedModules(mode: "with" | "without"): Promise<{ status: string; modules: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "dx-otel-loaded-"));
  try {
    const log = join(dir, "resolved.log");
    writeFileSync(
      join(dir, "hooks.mjs"),
      `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + "\\n");
  return r;
}
`,
    );
    writeFileSync(join(dir, "register.mjs"), `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)});\n`);
    writeFileSync(log, "");
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", pathToFileURL(join(dir, "register.mjs")).href, CHILD, "--plain-child", mode], {
      timeout: 30_000,
    });
    const report = JSON.parse(stdout.trim().split("\n").pop()!) as { status: string; required: string[] };
    const resolved = readFileSync(log, "utf8").split("\n").filter((l) => l.length > 0);
    return { status: report.status, modules: [...resolved, ...report.required] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("telemetry: optional", () => {
  it("loads no OpenTelemetry module when the runtime has no telemetry hooks", async () => {
    const r = await loadedModules("without");
    assert.equal(r.status, "Completed");
    assert.ok(r.modules.some((m) => m.includes("better-sqlite3")), "the module log sees what the runtime loads");
    assert.deepEqual(r.modules.filter((m) => m.includes("@opentelemetry") || m.includes("/src/telemetry/")), []);
  });

  it("loads @opentelemetry/api once the hooks are used (the check above can fail)", async () => {
    const r = await loadedModules("with");
    assert.equal(r.status, "Completed");
    assert.ok(r.modules.some((m) => m.includes("@opentelemetry/api")));
  });
});
