import { describe, expect, it } from 'vitest';
import {
  containsSecret, MAX_REDACT_INPUT, redact, redactForLog, RedactionTooLargeError, SECRET_KINDS,
} from '../../bot/pipeline/redact/index.ts';
import { githubToken, makeRand, password } from '../fixtures/redact/fake-tokens.ts';

const r = makeRand(1);
const PLACEHOLDER = /⟦secret:(\d+):([a-z0-9_]+)⟧/g;

describe('redact() contract', () => {
  it('replaces secrets with numbered placeholders and reports exact original offsets', () => {
    const pw = password(r);
    const tok = githubToken(r);
    const input = `DB_PASSWORD=${pw}\nGITHUB_TOKEN=${tok}\n`;
    const { text, findings } = redact(input);
    expect(text).toBe('DB_PASSWORD=⟦secret:1:password⟧\nGITHUB_TOKEN=⟦secret:2:github_pat⟧\n');
    expect(findings.map((f) => [f.type, f.value, f.placeholder])).toEqual([
      ['password', pw, '⟦secret:1:password⟧'],
      ['github_pat', tok, '⟦secret:2:github_pat⟧'],
    ]);
    for (const f of findings) expect(input.slice(f.start, f.end)).toBe(f.value);
  });

  it('gives the same secret the same number within one call', () => {
    const tok = githubToken(r);
    const other = githubToken(r);
    const { text, findings } = redact(`a ${tok} b ${other} c ${tok}`);
    expect(text).toBe('a ⟦secret:1:github_pat⟧ b ⟦secret:2:github_pat⟧ c ⟦secret:1:github_pat⟧');
    expect(findings).toHaveLength(3);
  });

  it('redacts only the password of a URL', () => {
    const pw = password(r);
    expect(redact(`postgres://app:${pw}@db.internal:5432/app`).text).toBe(
      'postgres://app:⟦secret:1:postgres_url_password⟧@db.internal:5432/app',
    );
  });

  it('redacts a mysql password glued to -p that starts with a dash', () => {
    const { text, findings } = redact('mysql -u root -p-s3cr3tPass db');
    expect(text).toBe('mysql -u root -p⟦secret:1:mysql_cli_password⟧ db');
    expect(findings.map((f) => f.value)).toEqual(['-s3cr3tPass']);
    // A dash after a blank is the next flag (`-p` alone prompts), and a bare dash is no password.
    expect(redact('mysql -u root -p -h db.internal app').findings).toEqual([]);
    expect(redact('mysql -u root -p- db').findings).toEqual([]);
    expect(redact('mysql -u root -p--password db').findings).toEqual([]);
  });

  it('leaves text without secrets byte-identical', () => {
    const input = 'deploy api 1.4.2 to staging, commit 3f9a2b1c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f90 ✅';
    expect(redact(input)).toEqual({ text: input, findings: [] });
  });

  it('is idempotent: placeholders are never detected again', () => {
    const input = `token: ${githubToken(r)} and postgres://u:${password(r)}@h/db and secret: ⟦secret:7:password⟧`;
    const once = redact(input);
    const twice = redact(once.text);
    expect(twice.findings).toEqual([]);
    expect(twice.text).toBe(once.text);
  });

  it('placeholder kinds are snake_case and numbered from 1 in order of appearance', () => {
    const { text } = redact(`${githubToken(r)} ${password(r)} PASSWORD=${password(r)} ${githubToken(r)}`);
    const nums = [...text.matchAll(PLACEHOLDER)].map((m) => Number(m[1]));
    expect(nums).toEqual([1, 2, 3]);
  });

  it('throws RedactionTooLargeError above MAX_REDACT_INPUT; accepts exactly the limit', () => {
    expect(() => redact('a'.repeat(MAX_REDACT_INPUT + 1))).toThrow(RedactionTooLargeError);
    expect(() => containsSecret('a'.repeat(MAX_REDACT_INPUT + 1))).toThrow(RedactionTooLargeError);
    expect(redact('a'.repeat(MAX_REDACT_INPUT)).findings).toEqual([]);
    expect(new RedactionTooLargeError(5)).toBeInstanceOf(Error);
  });
});

describe('redactForLog() and containsSecret()', () => {
  it('redactForLog yields the same text as redact', () => {
    const input = `curl -H "Authorization: Bearer ${password(r, 32)}" -u ci:${password(r)} https://x`;
    expect(redactForLog(input)).toBe(redact(input).text);
  });

  it('redactForLog truncates oversized lines instead of throwing', () => {
    const out = redactForLog(`${'x'.repeat(MAX_REDACT_INPUT)}GITHUB_TOKEN=${githubToken(r)}`);
    expect(out.length).toBeLessThan(MAX_REDACT_INPUT + 100);
    expect(out).toContain('truncated');
    expect(out).not.toContain('ghp_');
  });

  it('containsSecret agrees with redact', () => {
    expect(containsSecret(`here ${githubToken(r)}`)).toBe(true);
    expect(containsSecret('the token expired, password reset sent')).toBe(false);
    expect(containsSecret('secret: ⟦secret:1:password⟧')).toBe(false);
  });
});

describe('SECRET_KINDS', () => {
  it('lists at least 60 unique snake_case kinds', () => {
    expect(SECRET_KINDS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(SECRET_KINDS).size).toBe(SECRET_KINDS.length);
    for (const k of SECRET_KINDS) expect(k).toMatch(/^[a-z0-9_]+$/);
    for (const k of ['aws_access_key_id', 'postgres_url_password', 'github_pat', 'jwt', 'k8s_secret_data']) {
      expect(SECRET_KINDS).toContain(k);
    }
  });
});

describe('robustness', () => {
  it('covers zero-width characters inside a token and maps offsets to the original', () => {
    const tok = githubToken(r);
    for (const zw of ['\u200b', '\u200c', '\u200d', '\ufeff', '\u2060']) {
      const split = `${tok.slice(0, 10)}${zw}${tok.slice(10, 20)}${zw}${tok.slice(20)}`;
      const input = `token → ${split} ←`;
      const { text, findings } = redact(input);
      expect(text).toBe('token → ⟦secret:1:github_pat⟧ ←');
      expect(findings[0]?.value).toBe(split);
      expect(input.slice(findings[0]?.start, findings[0]?.end)).toBe(split);
    }
  });

  it('finds tokens glued to CJK text and punctuation', () => {
    const tok = githubToken(r);
    expect(redact(`密码是${tok}。`).text).toBe('密码是⟦secret:1:github_pat⟧。');
    expect(redact(`（${tok}）`).text).toBe('（⟦secret:1:github_pat⟧）');
    expect(redact(`"${tok}",`).text).toBe('"⟦secret:1:github_pat⟧",');
  });

  it('never crashes on lone surrogates, control chars and binary garbage', () => {
    const garbage = String.fromCharCode(...Array.from({ length: 4096 }, (_, i) => (i * 2654435761) & 0xffff));
    for (const input of ['\ud800', '\udc00abc', `\ud83d${githubToken(r)}\ude00`, '\u0000\u0001\u0002password=\u0000', garbage]) {
      const out = redact(input);
      for (const f of out.findings) expect(input.slice(f.start, f.end)).toBe(f.value);
    }
    expect(redact(`\ud800${githubToken(r)}`).findings).toHaveLength(1);
  });
});
