/**
 * What the LLM parser needs from the outside, as ports: db/llm-repo.ts implements LlmStore,
 * db/crypto.ts's Sealer implements SecretOpener. main.ts wires the real ones.
 */
export interface LlmStore {
  /**
   * Asked on every LLM request and every grammar-read message: must be cheap. LlmRepo reads
   * through the process's tenant cache (db/tenant-cache.ts), invalidated by PostgreSQL on
   * every committed change, and hands out the same sealedKey Buffer while it is cached.
   */
  tenantLlm(tenantId: string): Promise<{ settings: unknown; contentMode?: string; sealedKey?: Buffer } | undefined>;
  /** The request exactly as sent; returns its id for finishRequest. */
  recordRequest(r: { tenantId: string; model: string; promptVersion: string; request: unknown; response: unknown; createdAt: Date }): Promise<number>;
  finishRequest(id: number, f: { response: unknown; inputTokens: number; outputTokens: number; latencyMs: number }): Promise<void>;
  recentRequests(tenantId: string, since: Date, limit: number): Promise<{ count: number; rows: Array<{ createdAt: Date; model: string; request: unknown }> }>;
}

export interface SecretOpener {
  open(tenantId: string, purpose: string, blob: Buffer): Promise<string>;
}
