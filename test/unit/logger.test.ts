import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, it } from 'vitest';
import { createLogger, withholdQueryParams } from '../../bot/infra/logger.ts';

describe('log lines', () => {
  it('keep a failed query\'s SQL but never its parameter values', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'hoist-log-')), 'hoist.log');
    const log = createLogger({ level: 'info', file });
    const err = new DrizzleQueryError('insert into "analytics_events" ("tenant_id", "user_ref") values ($1, $2)', ['slack:T0CANARY', 'an:deadbeef "quoted" \\ text'], new Error('connect ECONNREFUSED'));
    log.warn({ err: String(err) }, 'analytics.failed');
    log.warn({ err: err.message, other: 'params: fine in a field of its own' }, 'x');
    log.flush();
    await new Promise((r) => setTimeout(r, 100));
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('insert into \\"analytics_events\\"');
    expect(text).toContain('params: [withheld]');
    expect(text).not.toContain('T0CANARY');
    expect(text).not.toContain('deadbeef');
    expect(text).toContain('params: fine in a field of its own');
    for (const line of text.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('leaves lines without query parameters untouched', () => {
    const line = '{"level":30,"msg":"ok"}\n';
    expect(withholdQueryParams(line)).toBe(line);
  });
});
