// Compile-time tests: the files in test/types/cases are type-checked as one tsc program. `pass.ts`
// (and `shared.ts`) must have no errors; every `fail-*.ts` must have exactly the errors its lines
// announce with `// expect-error TSnnnn` (that code, on that line) and no others.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const casesDir = join(root, "test/types/cases");
const files = readdirSync(casesDir)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => join(casesDir, f));

function compile(): Map<string, ts.Diagnostic[]> {
  const config = ts.readConfigFile(join(root, "tsconfig.json"), (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true, incremental: false });
  const byFile = new Map<string, ts.Diagnostic[]>(files.map((f) => [f, []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const name = d.file ? resolve(d.file.fileName) : "(global)";
    if (!byFile.has(name)) byFile.set(name, []);
    byFile.get(name)!.push(d);
  }
  return byFile;
}

function describeDiagnostic(d: ts.Diagnostic): string {
  const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
  return `${line}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
}

test("compile-time: typed definitions accept what they should and tsc rejects misspelt handles, wrong inputs and wrong output use", () => {
  const byFile = compile();
  const problems: string[] = [];
  for (const [file, diags] of byFile) {
    if (!files.includes(file)) {
      problems.push(...diags.map((d) => `${file} ${describeDiagnostic(d)}`));
      continue;
    }
    const lines = readFileSync(file, "utf8").split("\n");
    const expected = new Map<number, number>();
    lines.forEach((l, i) => {
      const m = /\/\/ expect-error TS(\d+)/.exec(l);
      if (m) expected.set(i + 1, Number(m[1]));
    });
    const isFail = file.split("/").pop()!.startsWith("fail-");
    assert.equal(isFail, expected.size > 0, `${file}: fail-* files (and only they) announce errors`);
    const seen = new Set<number>();
    for (const d of diags) {
      const text = describeDiagnostic(d);
      const line = Number(text.split(":")[0]);
      if (expected.get(line) === d.code) seen.add(line);
      else problems.push(`${file} unexpected ${text}`);
    }
    for (const [line, code] of expected) if (!seen.has(line)) problems.push(`${file}:${line} expected TS${code}, but tsc reported nothing there`);
  }
  assert.deepEqual(problems, []);
});
