/**
 * Rows the LLM intent parser reads and writes (db/schema/llm.ts): per-tenant LLM settings
 * (in tenants.settings.llm) and the sealed BYO key, redacted thread context, and the record
 * of every request sent. Implements the LlmStore port of bot/llm/ports.ts.
 */
import { and, count, desc, eq, gte, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { llmKeys, llmRequests, llmThreadMessages, tenants } from './schema/index.ts';

export interface TenantLlmRow {
  settings: unknown;
  /** tenants.settings.privacy.contentMode: 'minimal' keeps no message text, so no thread context. */
  contentMode?: string;
  sealedKey?: Buffer;
}

export class LlmRepo {
  constructor(readonly db: Db) {}

  /** tenants.settings.llm and the sealed key, in one query; undefined for an unknown tenant. */
  async tenantLlm(tenantId: string): Promise<TenantLlmRow | undefined> {
    const [row] = await this.db
      .select({
        settings: sql<unknown>`${tenants.settings} -> 'llm'`,
        contentMode: sql<string | null>`${tenants.settings} -> 'privacy' ->> 'contentMode'`,
        key: llmKeys.ciphertext,
      })
      .from(tenants).leftJoin(llmKeys, eq(llmKeys.tenantId, tenants.id))
      .where(eq(tenants.id, tenantId));
    if (!row) return undefined;
    return { settings: row.settings ?? undefined, contentMode: row.contentMode ?? undefined, sealedKey: row.key ?? undefined };
  }

  async ensureTenant(tenantId: string, platform: string): Promise<void> {
    await this.db.insert(tenants).values({ id: tenantId, platform }).onConflictDoNothing();
  }

  /** Replaces tenants.settings.llm, leaving every other setting as it was. */
  async setTenantLlm(tenantId: string, llm: Record<string, unknown>): Promise<void> {
    await this.db.update(tenants)
      .set({ settings: sql`jsonb_set(${tenants.settings}, '{llm}', ${JSON.stringify(llm)}::jsonb, true)` })
      .where(eq(tenants.id, tenantId));
  }

  async setKey(tenantId: string, ciphertext: Buffer): Promise<void> {
    await this.db.insert(llmKeys).values({ tenantId, ciphertext })
      .onConflictDoUpdate({ target: llmKeys.tenantId, set: { ciphertext, createdAt: new Date() } });
  }

  async clearKey(tenantId: string): Promise<boolean> {
    return (await this.db.delete(llmKeys).where(eq(llmKeys.tenantId, tenantId)).returning()).length > 0;
  }

  /** The last `limit` messages of a thread since `since`, oldest first. */
  async threadHistory(tenantId: string, thread: string, since: Date, limit: number): Promise<Array<{ speaker: string; text: string }>> {
    const rows = await this.db.select({ speaker: llmThreadMessages.speaker, text: llmThreadMessages.text })
      .from(llmThreadMessages)
      .where(and(eq(llmThreadMessages.tenantId, tenantId), eq(llmThreadMessages.thread, thread), gte(llmThreadMessages.createdAt, since)))
      .orderBy(desc(llmThreadMessages.createdAt), desc(llmThreadMessages.id)).limit(limit);
    return rows.reverse();
  }

  async addThreadMessage(m: { tenantId: string; thread: string; speaker: string; text: string; createdAt: Date }): Promise<void> {
    await this.db.insert(llmThreadMessages).values(m);
  }

  /** Written as the request leaves, so the record exists even if the answer never comes. */
  async recordRequest(r: typeof llmRequests.$inferInsert): Promise<number> {
    const [row] = await this.db.insert(llmRequests).values(r).returning({ id: llmRequests.id });
    return row!.id;
  }

  async finishRequest(id: number, f: { response: unknown; inputTokens: number; outputTokens: number; latencyMs: number }): Promise<void> {
    await this.db.update(llmRequests).set(f).where(eq(llmRequests.id, id));
  }

  async recentRequests(tenantId: string, since: Date, limit: number) {
    const where = and(eq(llmRequests.tenantId, tenantId), gte(llmRequests.createdAt, since));
    const [[total], rows] = await Promise.all([
      this.db.select({ n: count() }).from(llmRequests).where(where),
      this.db.select().from(llmRequests).where(where).orderBy(desc(llmRequests.createdAt), desc(llmRequests.id)).limit(limit),
    ]);
    return { count: Number(total?.n ?? 0), rows };
  }
}
