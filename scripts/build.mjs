// Builds the package twice from the same sources: ESM (everything, including tests, into dist/)
// and CommonJS (src/ only, into dist/cjs/, a {"type":"commonjs"} scope of its own).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const run = (project) => execFileSync(process.execPath, [tsc, "-p", project], { stdio: "inherit" });

run("tsconfig.json");
rmSync("dist/cjs", { recursive: true, force: true });
run("tsconfig.cjs.json");
writeFileSync("dist/cjs/package.json", `${JSON.stringify({ type: "commonjs" }, null, 2)}\n`);

// import.meta does not exist in CommonJS; the few modules that need their own location use
// import.meta.url, which CommonJS spells through __filename.
const CJS_URL = 'require("node:url").pathToFileURL(__filename).href';
(function rewrite(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) rewrite(p);
    else if (name.endsWith(".js")) {
      const src = readFileSync(p, "utf8");
      if (src.includes("import.meta")) {
        const out = src.replaceAll("import.meta.url", CJS_URL);
        if (out.includes("import.meta")) throw new Error(`${p}: import.meta other than import.meta.url has no CommonJS form`);
        writeFileSync(p, out);
      }
    }
  }
})("dist/cjs");
