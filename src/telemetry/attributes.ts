// Span attribute and event names. duroxide's own under `duroxide.`; OTel semantic conventions
// where one exists (error.type, service.*).
export const ATTR = {
  instanceId: "duroxide.instance_id",
  executionId: "duroxide.execution_id",
  orchestrationName: "duroxide.orchestration.name",
  orchestrationVersion: "duroxide.orchestration.version",
  orchestrationStatus: "duroxide.orchestration.status",
  initiatedBy: "duroxide.orchestration.initiated_by",
  input: "duroxide.input",
  output: "duroxide.output",
  activityName: "duroxide.activity.name",
  activityId: "duroxide.activity.id",
  attempt: "duroxide.activity.attempt",
  outcome: "duroxide.activity.outcome",
  workerId: "duroxide.worker_id",
  sessionId: "duroxide.session_id",
  tag: "duroxide.activity.tag",
  errorCategory: "duroxide.error.category",
  newEvents: "duroxide.turn.new_events",
  timerId: "duroxide.timer.id",
  timerFireAt: "duroxide.timer.fire_at",
  eventName: "duroxide.event.name",
  queueName: "duroxide.queue.name",
  childInstanceId: "duroxide.child.instance_id",
  childName: "duroxide.child.orchestration.name",
  serviceName: "service.name",
  serviceVersion: "service.version",
  errorType: "error.type",
} as const;

export const SPAN = {
  start: "start_orchestration",
  orchestration: "orchestration",
  turn: "turn",
  activity: "activity",
} as const;
