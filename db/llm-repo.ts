/**
 * Rows the LLM intent parser reads and writes (db/schema/llm.ts): per-tenant LLM settings
 * (in tenants.settings.llm) and the sealed BYO key, and the record of every request sent.
 * Implements the LlmStore port of bot/llm/ports.ts. (Thread context moved to Redis,
 * bot/llm/budget.ts; the llm_thread_messages table is no longer written.)
 *
 * Settings and key are read through the process's tenant cache (db/tenant-cache.ts) when the
 * bot attached one: the settings entry is the one the pipeline already reads per message
 * (content mode, registry allowlist), so the LLM's settings cost no query of their own, and
 * PostgreSQL invalidates both on every committed change, from any process: the `tenants`
 * trigger (migration 0008) covers settings; llm_keys has no trigger, so setKey/clearKey
 * notify themselves, in the same transaction. A key changed by hand (psql on llm_keys) is
 * seen when the cache entry expires (its TTL) or on the next change to the tenant.
 */
import { and, count, desc, eq, gte, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { readTenantSettings } from './repo.ts';
import { llmKeys, llmRequests, tenants } from './schema/index.ts';
import { cachedRead, invalidateTenant, TENANT_CHANNEL } from './tenant-cache.ts';

export interface TenantLlmRow {
  settings: unknown;
  /** tenants.settings.privacy.contentMode: 'minimal' keeps no message text, so no thread context. */
  contentMode?: string;
  sealedKey?: Buffer;
}

export class LlmRepo {
  constructor(readonly db: Db) {}

  /**
   * tenants.settings.llm, the content mode and the sealed key. Through the tenant cache, the
   * same objects (and the same sealedKey Buffer) are returned while the entry lives: treat
   * them as read-only.
   */
  async tenantLlm(tenantId: string): Promise<TenantLlmRow | undefined> {
    const [settings, key] = await Promise.all([
      cachedRead(this.db, tenantId, 'settings', () => readTenantSettings(this.db, tenantId)),
      cachedRead(this.db, tenantId, 'llm-key', async () => {
        const [row] = await this.db.select({ key: llmKeys.ciphertext }).from(llmKeys).where(eq(llmKeys.tenantId, tenantId));
        return row?.key ?? undefined;
      }),
    ]);
    const privacy = settings.privacy as { contentMode?: unknown } | undefined;
    return {
      settings: settings.llm ?? undefined,
      contentMode: typeof privacy?.contentMode === 'string' ? privacy.contentMode : undefined,
      sealedKey: key,
    };
  }

  async ensureTenant(tenantId: string, platform: string): Promise<void> {
    await this.db.insert(tenants).values({ id: tenantId, platform }).onConflictDoNothing();
  }

  /** Replaces tenants.settings.llm, leaving every other setting as it was. */
  async setTenantLlm(tenantId: string, llm: Record<string, unknown>): Promise<void> {
    await this.db.update(tenants)
      .set({ settings: sql`jsonb_set(${tenants.settings}, '{llm}', ${JSON.stringify(llm)}::jsonb, true)` })
      .where(eq(tenants.id, tenantId));
    invalidateTenant(this.db, tenantId); // other processes: the tenants trigger notifies
  }

  async setKey(tenantId: string, ciphertext: Buffer): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.insert(llmKeys).values({ tenantId, ciphertext })
        .onConflictDoUpdate({ target: llmKeys.tenantId, set: { ciphertext, createdAt: new Date() } });
      await tx.execute(sql`select pg_notify(${TENANT_CHANNEL}, ${tenantId})`);
    });
    invalidateTenant(this.db, tenantId);
  }

  async clearKey(tenantId: string): Promise<boolean> {
    const n = await this.db.transaction(async (tx) => {
      const gone = await tx.delete(llmKeys).where(eq(llmKeys.tenantId, tenantId)).returning();
      if (gone.length) await tx.execute(sql`select pg_notify(${TENANT_CHANNEL}, ${tenantId})`);
      return gone.length;
    });
    invalidateTenant(this.db, tenantId);
    return n > 0;
  }

  /** Written as the request leaves (issued before it), so the record exists even if the answer never comes. */
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
