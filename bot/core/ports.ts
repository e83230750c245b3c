/**
 * Ports the pipeline depends on. Implementations are built in main.ts and passed in.
 * ActionQueue: enqueue by action id (job id = action id, duplicates are no-ops); the kind picks
 * the lane (workers/contract/jobs.ts queueForKind: reads apart from changes).
 */
export interface ActionQueue {
  enqueue(actionId: string, tenantId: string, kind: string): Promise<void>;
  close(): Promise<void>;
}

/** Audit sink: append one hash-chained event for the tenant. */
export interface AuditLog {
  append(e: { tenantId: string; type: string; actionId?: string | null; actor?: string | null; data?: Record<string, unknown> }): Promise<void>;
}

/**
 * Data rights and usage analytics (implemented in db/privacy/service.ts). contentMode
 * 'minimal' means: store no message text (audit metadata only, no thread context).
 * recordUsage never stores a raw user id; forgetMe answers within the request.
 */
export interface PrivacyPort {
  contentMode(tenantId: string): Promise<'full' | 'minimal'>;
  recordUsage(e: { tenantId: string; userId: string; platform: string; command: string; outcome: string; latencyMs: number }): Promise<void>;
  /** What Hoist stores about this tenant and this user, and for how long. */
  describe(tenantId: string, userId: string): Promise<string>;
  /** The tenant's machine-readable export (JSON); the request is audited first. */
  exportTenant(tenantId: string, requestedBy: string): Promise<{ filename: string; content: string }>;
  /** Where platforms cannot send a file: writes it locally (0600) and returns the path. */
  saveExport(file: { filename: string; content: string }): Promise<string>;
  /** Pseudonymizes the user's id everywhere in the tenant; returns the sentence to reply. */
  forgetMe(tenantId: string, userId: string): Promise<string>;
}
