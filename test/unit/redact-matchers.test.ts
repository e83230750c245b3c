import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUTH_SCHEMES, MATCH, matchAuthorization, matchUrlPassword } from '../../bot/pipeline/redact/detectors/http-matchers.ts';

// The hand matchers of the transport rules must answer exactly as the regexes they replace.
const URL_RE =
  /(?<=(?<![A-Za-z0-9+.-])(?<scheme>[A-Za-z][A-Za-z0-9+.-]{0,24})):\/\/[^\s:/?#@"'<>[\]]{0,128}:(?<s>[^\s/?#"'<>]{1,256})@(?<h>[A-Za-z0-9.\-_%]{1,255}|\[[0-9a-fA-F:.]{2,64}\])(?=[:/?#\s"'<>),;\]}]|$)/dy;
const AUTH_RE =
  /authorization["']?[ \t]{0,4}[:=][ \t]{0,4}["']?(?:(?<scheme>token|bearer|basic|digest|apikey|sso-key|key|bot)[ \t]{1,4}|key[ \t]{0,2}=[ \t]{0,2})?(?<s>[A-Za-z0-9\-._~+/]{8,4096}={0,2})/diy;

function urlRef(t: string, at: number): number[] | null {
  URL_RE.lastIndex = at;
  const m = URL_RE.exec(t);
  if (m === null) return null;
  const g = m.indices?.groups as Record<string, [number, number]>;
  return [(g['scheme'] as [number, number])[0], (g['s'] as [number, number])[0], (g['s'] as [number, number])[1], m.index + m[0].length];
}

function authRef(t: string, at: number): number[] | null {
  AUTH_RE.lastIndex = at;
  const m = AUTH_RE.exec(t);
  if (m === null) return null;
  const g = m.indices?.groups as Record<string, [number, number] | undefined>;
  const scheme = m.groups?.['scheme'];
  const s = g['s'] as [number, number];
  return [scheme === undefined ? -1 : AUTH_SCHEMES.indexOf(scheme.toLowerCase() as (typeof AUTH_SCHEMES)[number]), s[0], s[1]];
}

const join = (a: string[]) => a.join('');

describe('transport hand matchers equal their regexes', () => {
  it('matchUrlPassword: the url_password regex', () => {
    // Mostly well-formed parts (so most cases match), sometimes a random mix of edge chars.
    const piece = (units: string[]) =>
      fc.oneof({ weight: 2, arbitrary: fc.constantFrom(units[0] as string, units[1] as string) }, fc.array(fc.constantFrom(...units), { maxLength: 5 }).map(join));
    const scheme = piece(['http', 'postgres', 'Redis', '+', '.', '-', '1', 'x'.repeat(12), ' ', '@', 'é']);
    const user = piece(['app', 'u', ':', '@', ' ', '%40', 'é', '[', 'x'.repeat(40)]);
    const secret = piece(['p4ss', '@', ':', 'x', '@h', '#', '/', ' ', '\u00a0', '"', '[', ']', 'é', '!', 'y'.repeat(90)]);
    const host = piece(['db', 'db.internal', '-', '_', '%', '[::1]', '[', ']', '::', 'é', '@', 'h'.repeat(90)]);
    const tail = fc.constantFrom('', ':5432/x', '/', '?a', '#', ' ', '"', "'", '<', '>', ')', ',', ';', ']', '}', '\n', '\u3000', 'x', '@', '.');
    const url = fc.tuple(scheme, user, secret, fc.boolean(), host, tail).map(([a, u, p, at, h, z]) => `${a}://${u}:${p}${at ? '@' : ''}${h}${z}`);
    let matched = 0;
    fc.assert(
      fc.property(fc.array(url, { minLength: 1, maxLength: 3 }).map(join), (t) => {
        for (let at = t.indexOf('://'); at !== -1; at = t.indexOf('://', at + 1)) {
          const want = urlRef(t, at);
          const got = matchUrlPassword(t, at) ? Array.from(MATCH) : null;
          if (want !== null) matched++;
          expect(got).toEqual(want);
        }
      }),
      { numRuns: 20_000 },
    );
    expect(matched).toBeGreaterThan(4000);
  });

  it('matchUrlPassword: long runs at the quantifier bounds', () => {
    const sizes = [0, 1, 24, 25, 26, 127, 128, 129, 254, 255, 256, 257, 258];
    fc.assert(
      fc.property(fc.constantFrom(...sizes), fc.constantFrom(...sizes), fc.constantFrom(...sizes), fc.constantFrom(...sizes), fc.boolean(), (a, b, c, d, ip) => {
        const host = ip ? `[${'1'.repeat(Math.min(d, 70))}]` : 'h'.repeat(d);
        const t = `${'s'.repeat(a)}://${'u'.repeat(b)}:${'p'.repeat(c)}@${host}/x`;
        const at = a;
        expect(matchUrlPassword(t, at) ? Array.from(MATCH) : null).toEqual(urlRef(t, at));
      }),
      { numRuns: 5000 },
    );
  });

  it('matchAuthorization: the authorization header regex', () => {
    const opt = (units: string[]) => fc.array(fc.constantFrom(...units), { maxLength: 3 }).map(join);
    const head = fc.constantFrom('authorization', 'Authorization', 'AUTHORIZATION', 'authorizatio', 'x');
    const gap = opt(['"', "'", ' ', '\t', ':', '=', 'é']);
    const scheme = opt(['token', 'Bearer', 'BASIC', 'digest', 'apikey', 'sso-key', 'key', 'Key', 'bot', 'bo', ' ', '\t', '=', 'x']);
    const value = opt(['abcd', 'ABCD1234', 'x.y_z~+/', '=', '==', '-', 'é', '\n', ' ', 'a'.repeat(7)]);
    const header = fc.tuple(head, gap, scheme, value).map((p) => p.join(''));
    let matched = 0;
    fc.assert(
      fc.property(fc.array(header, { minLength: 1, maxLength: 3 }).map(join), (t) => {
        for (let at = 0; at < t.length; at++) {
          if (t.slice(at, at + 13).toLowerCase() !== 'authorization') continue;
          const want = authRef(t, at);
          const got = matchAuthorization(t, at) ? Array.from(MATCH).slice(0, 3) : null;
          if (want !== null) matched++;
          expect(got).toEqual(want);
        }
      }),
      { numRuns: 20_000 },
    );
    expect(matched).toBeGreaterThan(2000);
  });

  it('matchAuthorization: values at the 4096 bound', () => {
    for (const len of [7, 8, 4095, 4096, 4097]) {
      for (const tail of ['', '=', '==', '===', 'x']) {
        const t = `Authorization: Bearer ${'a'.repeat(len)}${tail}`;
        expect(matchAuthorization(t, 0) ? Array.from(MATCH).slice(0, 3) : null).toEqual(authRef(t, 0));
      }
    }
  });
});
