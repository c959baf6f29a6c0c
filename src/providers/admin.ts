// Management queries (the reference's ProviderAdmin).
import type { HistoryEvent } from "../model/events.js";
import type { ExecutionStatus } from "../model/status.js";

export interface InstanceInfo {
  instanceId: string;
  orchestrationName: string;
  orchestrationVersion: string;
  currentExecutionId: number;
  status: ExecutionStatus;
  output: string | null;
  createdAt: number;
  updatedAt: number;
  parentInstanceId: string | null;
}

export interface ExecutionInfo {
  executionId: number;
  status: ExecutionStatus;
  output: string | null;
  startedAt: number;
  completedAt: number | null;
  eventCount: number;
}

export interface SystemMetrics {
  totalInstances: number;
  totalExecutions: number;
  runningInstances: number;
  completedInstances: number;
  failedInstances: number;
  totalEvents: number;
}

export interface QueueDepths {
  orchestratorQueue: number;
  workerQueue: number;
  timerQueue: number;
}

export interface ProviderAdmin {
  listInstances(): Promise<string[]>;
  listInstancesByStatus(status: ExecutionStatus): Promise<string[]>;
  listExecutions(instance: string): Promise<number[]>;
  getInstanceInfo(instance: string): Promise<InstanceInfo>;
  getExecutionInfo(instance: string, executionId: number): Promise<ExecutionInfo>;
  readHistory(instance: string, executionId: number): Promise<HistoryEvent[]>;
  getSystemMetrics(): Promise<SystemMetrics>;
  getQueueDepths(): Promise<QueueDepths>;
  listChildren(instance: string): Promise<string[]>;
}
