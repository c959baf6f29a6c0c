// Public surface of the dashboard (package subpath "./dashboard").
export { createDashboard, type DashboardHandler, type DashboardOptions } from "./dashboard.js";
export { startDashboardServer, DEFAULT_HOST, DEFAULT_PORT, type DashboardServer, type DashboardServerOptions } from "./server.js";
export { buildTimeline, type Timeline, type TimelineSpan, type TimelineMarker, type SpanKind, type SpanOutcome } from "./timeline.js";
export type { InstanceDetails, InstancePageDocument, ChildRef, ExecutionSummary, HistoryDocument, InstanceTreeDocument, TreeNode, SystemDocument } from "./views.js";
