// Runs every compiled `*.test.js` under dist/test with Node's test runner. Node 20 treats every
// .js file below a `test` folder as a test file when given a directory, which would also run
// helper modules (child-process entry points); listing the files explicitly avoids that.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";

function collect(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

// dist/test/outage restarts the shared PostgreSQL server, so a full run runs it as a separate
// serial step after everything else (never while another test file uses the server).
const SERIAL = join("dist", "test", "outage");
const roots = process.argv.slice(2);
const all = (roots.length > 0 ? roots : ["dist/test"]).flatMap((r) => (r.endsWith(".js") ? [r] : collect(r)));
if (all.length === 0) {
  console.error("no test files found: run `npm run build` first");
  process.exit(1);
}
const serial = all.filter((f) => f.startsWith(SERIAL));
const main = all.filter((f) => !f.startsWith(SERIAL));

function run(files) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--test", "--test-concurrency=1", ...files], { stdio: "inherit" });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

let code = main.length > 0 ? await run(main) : 0;
if (serial.length > 0) code = (await run(serial)) || code;
process.exit(code);
