/**
 * What the LLM parser needs from the outside, as ports: db/llm-repo.ts implements LlmStore,
 * db/crypto.ts's Sealer implements SecretOpener. main.ts wires the real ones.
 */
export interface LlmStore {
  tenantLlm(tenantId: string): Promise<{ settings: unknown; contentMode?: string; sealedKey?: Buffer } | undefined>;
  threadHistory(tenantId: string, thread: string, since: Date, limit: number): Promise<Array<{ speaker: string; text: string }>>;
  addThreadMessage(m: { tenantId: string; thread: string; speaker: string; text: string; createdAt: Date }): Promise<void>;
  /** The request exactly as sent; returns its id for finishRequest. */
  recordRequest(r: { tenantId: string; model: string; promptVersion: string; request: unknown; response: unknown; createdAt: Date }): Promise<number>;
  finishRequest(id: number, f: { response: unknown; inputTokens: number; outputTokens: number; latencyMs: number }): Promise<void>;
  recentRequests(tenantId: string, since: Date, limit: number): Promise<{ count: number; rows: Array<{ createdAt: Date; model: string; request: unknown }> }>;
}

export interface SecretOpener {
  open(tenantId: string, purpose: string, blob: Buffer): Promise<string>;
}
