/**
 * Ports the pipeline depends on. Implementations are built in main.ts and passed in.
 * ActionQueue: enqueue by action id (job id = action id, duplicates are no-ops).
 */
export interface ActionQueue {
  enqueue(actionId: string, tenantId: string): Promise<void>;
  close(): Promise<void>;
}

/** Audit sink: append one hash-chained event for the tenant. */
export interface AuditLog {
  append(e: { tenantId: string; type: string; actionId?: string | null; actor?: string | null; data?: Record<string, unknown> }): Promise<void>;
}
