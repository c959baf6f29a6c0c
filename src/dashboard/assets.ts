// The dashboard's static files, held in memory: the HTML shell (no store data in it), the
// stylesheet, and the page script served from the source text of `dashboardApp`.
import { dashboardApp } from "./page/app.js";

export interface Asset {
  type: string;
  body: string;
}

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Duroxide</title>
<link rel="stylesheet" href="app.css">
</head>
<body>
<header>
  <strong class="brand">Duroxide</strong>
  <nav><a href="#/">Instances</a><a href="#/system">System</a></nav>
  <span class="spacer"></span>
  <span id="mode" class="muted"></span>
  <label class="live"><input type="checkbox" id="live" checked> live</label>
</header>
<div id="flash" class="flash" role="status"></div>
<main id="main"><p class="muted">Loading…</p></main>
<script src="app.js"></script>
</body>
</html>
`;

const APP_CSS = `
:root { --fg: #1d2330; --muted: #6b7280; --line: #e3e6eb; --bg: #f7f8fa; --accent: #2458d6;
  --run: #2458d6; --ok: #1b8a4b; --bad: #c62f2f; --warn: #b7791f; --timer: #7c5cc4; --event: #0e8a8a; --sub: #b04ca8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 16px; padding: 10px 20px; background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 2; }
nav a { margin-right: 14px; color: var(--fg); text-decoration: none; padding: 4px 2px; }
nav a.active { border-bottom: 2px solid var(--accent); }
main { padding: 16px 20px 60px; max-width: 1400px; }
h1 { font-size: 20px; margin: 6px 0 12px; word-break: break-all; }
h2 { font-size: 14px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
a { color: var(--accent); }
.spacer { flex: 1; }
.muted { color: var(--muted); }
.id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; word-break: break-all; }
.flash { margin: 0 20px; }
.flash.error, .flash.info { margin-top: 10px; padding: 8px 12px; border-radius: 6px; }
.flash.error { background: #fdecec; color: var(--bad); }
.flash.info { background: #e9f6ee; color: var(--ok); }
.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin-bottom: 12px; background: #fff; padding: 10px; border: 1px solid var(--line); border-radius: 8px; }
input, select, button { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 5px; background: #fff; }
button { cursor: pointer; }
button:disabled { opacity: .5; cursor: default; }
button.danger { color: var(--bad); border-color: var(--bad); }
table.grid { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
.grid th, .grid td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
.grid th { background: #fafbfc; font-weight: 600; }
.grid td.num { text-align: right; font-variant-numeric: tabular-nums; }
.grid td.empty { text-align: center; color: var(--muted); padding: 20px; }
.grid pre, .grid code { margin: 0; white-space: pre-wrap; word-break: break-all; font-size: 12px; }
.pager { display: flex; gap: 12px; align-items: center; margin-top: 10px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #eef; color: var(--run); }
.badge.s-completed { background: #e6f4ec; color: var(--ok); }
.badge.s-failed { background: #fdecec; color: var(--bad); }
.badge.s-continuedasnew { background: #fdf3e3; color: var(--warn); }
.badge.s-notstarted { background: #eee; color: var(--muted); }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; margin: 12px 0; overflow: auto; }
.panel pre { margin: 0; white-space: pre-wrap; word-break: break-all; font-size: 12px; max-height: 320px; overflow: auto; }
pre.err { color: var(--bad); }
.cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 12px; }
.cols .panel { margin: 0; }
.facts { display: grid; grid-template-columns: max-content 1fr max-content 1fr max-content 1fr; gap: 4px 14px; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; word-break: break-all; }
.crumbs { margin: 0; color: var(--muted); word-break: break-all; }
.actions { display: flex; flex-wrap: wrap; gap: 18px; }
.actions span { display: inline-flex; gap: 6px; align-items: center; }
.execs { display: flex; flex-wrap: wrap; gap: 6px; }
.exec { padding: 2px 8px; border: 1px solid var(--line); border-radius: 5px; text-decoration: none; }
.exec.current { background: var(--accent); color: #fff; }
.timeline { font-size: 12px; }
.tl-body { max-height: 520px; overflow: auto; position: relative; }
.tl-virtual { position: relative; }
.tl-virtual .tl-row { position: absolute; left: 0; right: 0; height: 20px; }
.tl-row { display: grid; grid-template-columns: 260px 1fr; align-items: center; min-height: 20px; border-bottom: 1px solid #f1f2f4; box-sizing: border-box; }
.tl-label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; padding-right: 8px; }
.tl-track { position: relative; height: 18px; }
.tl-axis .tl-track { height: 16px; color: var(--muted); }
.tl-tick { position: absolute; top: 0; transform: translateX(-50%); font-size: 11px; white-space: nowrap; }
.tl-tick:first-child { transform: none; }
.tl-tick:last-child { transform: translateX(-100%); }
.tl-bar { position: absolute; top: 2px; height: 14px; border-radius: 3px; color: #fff; font-size: 10px; line-height: 14px; padding: 0 3px; overflow: hidden; white-space: nowrap; min-width: 3px; background: var(--run); }
.tl-bar.k-timer { background: var(--timer); }
.tl-bar.k-event, .tl-bar.k-queue { background: var(--event); }
.tl-bar.k-suborchestration { background: var(--sub); }
.tl-bar.o-failed { background: var(--bad); }
.tl-bar.o-cancelled, .tl-bar.o-abandoned { background: #9aa1ad; }
.tl-bar.o-pending { background-image: repeating-linear-gradient(45deg, rgba(255,255,255,.25) 0 6px, transparent 6px 12px); }
.tl-marker { position: absolute; top: 4px; width: 8px; height: 8px; margin-left: -4px; border-radius: 50%; background: var(--muted); }
.tl-marker.m-OrchestrationCompleted { background: var(--ok); }
.tl-marker.m-OrchestrationFailed { background: var(--bad); }
.kind { display: inline-block; min-width: 84px; color: var(--muted); }
ul.tree, ul.tree ul { list-style: none; padding-left: 18px; margin: 2px 0; }
ul.tree { padding-left: 0; }
ul.tree li { margin: 3px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 18px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 150px; }
.card-value { font-size: 24px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card-label { color: var(--muted); }
.live { user-select: none; }
`;

const APP_JS = `(${dashboardApp.toString()})();\n`;

/** Path (relative to where the dashboard is mounted) → file. */
export const ASSETS: Readonly<Record<string, Asset>> = {
  "/": { type: "text/html; charset=utf-8", body: INDEX_HTML },
  "/index.html": { type: "text/html; charset=utf-8", body: INDEX_HTML },
  "/app.css": { type: "text/css; charset=utf-8", body: APP_CSS },
  "/app.js": { type: "text/javascript; charset=utf-8", body: APP_JS },
  "/favicon.ico": { type: "image/svg+xml", body: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#2458d6"/></svg>' },
};
