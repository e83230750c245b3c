/**
 * Private key material and signed tokens: PEM/OpenSSH/PGP private key blocks, PuTTY
 * keys, age identities, JWTs. A PEM block is redacted whole, header to footer, also
 * when a chat client wrapped it or it sits JSON-escaped (`\n`) inside a service-account
 * file; a paste cut off before the footer still loses header and body.
 */
import { PRIORITY, regexRule, tokenRule, type Detector, type ScanContext } from '../detector.ts';
import { looksFakeToken } from '../values.ts';

const WS = '[ \\t\\r\\n]{1,4}';
const PEM_HEADER = new RegExp(
  `-----BEGIN${WS}(?:(?<t>RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP|SSH2${WS}ENCRYPTED)${WS})?PRIVATE${WS}KEY(?:${WS}BLOCK)?-----`,
  'y',
);
const PEM_FOOTER = new RegExp(`-----END${WS}(?:[A-Z0-9]{1,10}${WS}){0,2}PRIVATE${WS}KEY(?:${WS}BLOCK)?-----`, 'y');
const MAX_BODY = 65_536;

const PEM_KIND: Record<string, string> = {
  RSA: 'rsa_private_key',
  EC: 'ec_private_key',
  DSA: 'dsa_private_key',
  OPENSSH: 'openssh_private_key',
  ENCRYPTED: 'encrypted_private_key',
  PGP: 'pgp_private_key',
};

/** Body chars: base64, whitespace, JSON escapes, and the punctuation of `Proc-Type:`-style headers. */
function isBodyChar(c: number): boolean {
  return (
    (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) ||
    c === 43 || c === 47 || c === 61 || c === 32 || c === 9 || c === 10 || c === 13 ||
    c === 92 || c === 58 || c === 44 || c === 46 || c === 45 || c === 40 || c === 41 || c === 95
  );
}

function isBase64Char(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
}

/** Past any `>` / `&gt;` quote markers (and the blanks after them) at a line start. */
function afterQuoteMarkers(text: string, from: number, limit: number): number {
  let i = from;
  for (;;) {
    if (i < limit && text.charCodeAt(i) === 62) i++;
    else if (text.startsWith('&gt;', i) && i + 4 <= limit) i += 4;
    else return i;
    while (i < limit && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  }
}

function kindFor(text: string, start: number, type: string | undefined): string {
  if (type === undefined) {
    const before = text.slice(Math.max(0, start - 300), start);
    if (/"private_key"\s*:\s*"$/.test(before)) {
      const around = text.slice(Math.max(0, start - 3000), start + 6000);
      if (/service_account|gserviceaccount\.com|"private_key_id"/.test(around)) return 'gcp_service_account_key';
    }
    return 'private_key';
  }
  if (type.startsWith('SSH2')) return 'encrypted_private_key';
  return PEM_KIND[type] ?? 'private_key';
}

function scanPem(ctx: ScanContext, at: number): void {
  const text = ctx.text;
  PEM_HEADER.lastIndex = at;
  const header = PEM_HEADER.exec(text);
  if (header === null) return;
  let i = PEM_HEADER.lastIndex;
  const limit = Math.min(text.length, i + MAX_BODY);
  let base64 = 0;
  for (; i < limit; i++) {
    const c = text.charCodeAt(i);
    if (c === 45 && text.startsWith('-----', i)) break;
    if (!isBodyChar(c)) break;
    if (isBase64Char(c)) base64++;
    // A quoted paste (`> ` in Markdown, `&gt; ` in Slack's raw text) repeats the quote
    // marker at every line start: it belongs to the block, not to the text after it.
    if (c === 10) i = afterQuoteMarkers(text, i + 1, limit) - 1;
  }
  let end = i;
  PEM_FOOTER.lastIndex = i;
  if (PEM_FOOTER.test(text)) {
    end = PEM_FOOTER.lastIndex;
    if (base64 < 16) return;
  } else {
    if (base64 < 32) return;
    // Trim trailing whitespace and `\n` escapes so the span ends on key material.
    while (end > at) {
      const c = text.charCodeAt(end - 1);
      if (c === 32 || c === 9 || c === 10 || c === 13) end--;
      else if (end - 2 > at && text.charCodeAt(end - 2) === 92 && /[nrt]/.test(text[end - 1] as string)) end -= 2;
      else break;
    }
  }
  ctx.emit(at, end, kindFor(text, at, header.groups?.['t']?.split(/\s/)[0]), PRIORITY.block);
}

export const keyDetectors: readonly Detector[] = [
  {
    id: 'pem_private_key',
    kinds: [...new Set(Object.values(PEM_KIND)), 'private_key', 'gcp_service_account_key'],
    triggers: ['-----BEGIN'],
    caseSensitive: true,
    scan: scanPem,
  },
  regexRule({
    id: 'putty_private_key',
    kinds: ['putty_private_key'],
    triggers: ['Private-Lines:'],
    caseSensitive: true,
    re: /Private-Lines:[ \t]*\d{1,3}\r?\n(?<s>(?:[A-Za-z0-9+/=]{1,128}\r?\n){0,63}[A-Za-z0-9+/=]{1,128}(?=\r?\n|$))/,
    priority: PRIORITY.block,
  }),
  tokenRule({
    kind: 'age_secret_key',
    prefixes: ['AGE-SECRET-KEY-1'],
    body: '[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}',
    edge: 'A-Za-z0-9',
    priority: PRIORITY.block,
  }),
  regexRule({
    id: 'jwt',
    kinds: ['jwt'],
    triggers: ['eyJ'],
    caseSensitive: true,
    re: /(?<![A-Za-z0-9_\-.])eyJ[A-Za-z0-9_-]{2,4096}\.eyJ[A-Za-z0-9_-]{2,8192}\.(?<sig>[A-Za-z0-9_-]{16,2048})(?![A-Za-z0-9_-])/,
    priority: PRIORITY.structured,
    accept: (v, m) => !looksFakeToken(m.groups?.['sig'] ?? v),
  }),
];
