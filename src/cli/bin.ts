#!/usr/bin/env node
// Entry point of the `duroxide` bin (package.json "bin"). Sets the exit code rather than calling
// process.exit, so buffered stdout is flushed before the process ends.
import { main } from "./main.js";

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
