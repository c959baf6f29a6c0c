// The import rules of the house (ARCHITECTURE.md "Layers"): no import cycles in src/ (type-only
// imports count), and no layer importing one it must not. Reads the TypeScript sources.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

const SRC = resolve(process.cwd(), "src");

/** Folder → folders it must not import (DESIGN.md §2). */
const FORBIDDEN: Record<string, string[]> = {
  model: ["orchestration", "providers", "runtime", "client", "activity", "observability"],
  orchestration: ["providers", "runtime", "client", "activity"],
  providers: ["runtime", "orchestration", "client", "activity"],
  client: ["runtime", "orchestration"],
};

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

function importsOf(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
  const out: string[] = [];
  for (const st of sf.statements) {
    if (!(ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) || !st.moduleSpecifier) continue;
    const spec = (st.moduleSpecifier as ts.StringLiteral).text;
    if (!spec.startsWith(".")) continue;
    const base = resolve(dirname(file), spec.replace(/\.js$/, ""));
    const hit = [`${base}.ts`, join(base, "index.ts")].find((c) => existsSync(c));
    if (hit) out.push(hit);
  }
  return out;
}

const graph = new Map(sources(SRC).map((f) => [f, importsOf(f)]));
const rel = (f: string): string => relative(SRC, f).split(sep).join("/");

/** Strongly connected components with more than one file (Tarjan). */
function cycles(): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(rel(w));
      } while (w !== v);
      if (c.length > 1) found.push(c);
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

describe("import rules", () => {
  it("reads the sources", () => {
    assert.ok(graph.size > 50, `found ${graph.size} source files under ${SRC}`);
  });

  it("src/ has no import cycles, type-only imports included", () => {
    assert.deepEqual(cycles(), []);
  });

  it("no layer imports a layer it must not", () => {
    const bad: string[] = [];
    for (const [from, tos] of graph)
      for (const to of tos) {
        const a = rel(from).split("/")[0]!;
        const b = rel(to).split("/")[0]!;
        if (FORBIDDEN[a]?.includes(b)) bad.push(`${rel(from)} -> ${rel(to)}`);
      }
    assert.deepEqual(bad, []);
  });
});
