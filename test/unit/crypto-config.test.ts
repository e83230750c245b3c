import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../bot/config.ts';
import { canonical } from '../../db/audit.ts';
import { decrypt, encrypt } from '../../db/crypto.ts';

describe('envelope encryption primitives', () => {
  const key = randomBytes(32);
  it('round-trips and binds the AAD', () => {
    const blob = encrypt(key, Buffer.from('s3cr3t-value'), 't1|env:api:DB');
    expect(blob.includes(Buffer.from('s3cr3t-value'))).toBe(false);
    expect(decrypt(key, blob, 't1|env:api:DB').toString()).toBe('s3cr3t-value');
    expect(() => decrypt(key, blob, 't2|env:api:DB')).toThrow(/integrity/);
    expect(() => decrypt(randomBytes(32), blob, 't1|env:api:DB')).toThrow(/integrity/);
  });
  it('uses a fresh nonce each time', () => {
    expect(encrypt(key, Buffer.from('x'), 'a').equals(encrypt(key, Buffer.from('x'), 'a'))).toBe(false);
  });
});

describe('config', () => {
  it('names every bad variable in one message without echoing secret values', () => {
    let msg = '';
    try {
      parseConfig({ REDIS_URL: 'http://nope', HOIST_MASTER_KEY: 'c2hvcnQ=', HOIST_ADMINS: 'bob', SLACK_BOT_TOKEN: 'xoxb-1-2-abc' }, 'start');
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/REDIS_URL/);
    expect(msg).toMatch(/HOIST_MASTER_KEY/);
    expect(msg).toMatch(/HOIST_ADMINS/);
    expect(msg).not.toContain('c2hvcnQ=');
    expect(msg).not.toContain('xoxb-1-2-abc');
  });
  it('requires what separate processes need', () => {
    expect(() => parseConfig({}, 'bot')).toThrow(/HOIST_MASTER_KEY.*DATABASE_URL.*REDIS_URL/);
    expect(parseConfig({}, 'console').HOIST_DATA_DIR).toBe('./.hoist');
  });
});

describe('canonical JSON for audit hashes', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonical({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
  });
});
