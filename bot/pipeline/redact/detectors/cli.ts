/**
 * Secrets on command lines: `--password x`, `--token=x`, `mysql -pS3cret`,
 * `redis-cli -a x`, `docker login -p x`, `sshpass -p x`, keytool `-storepass x`,
 * and `.netrc` lines. Pasted shell history is the most common way these leak into chat.
 */
import { PRIORITY, regexRule, type Detector, type ScanContext } from '../detector.ts';
import { contextRule } from '../context-rule.ts';
import { foldCase } from '../fold-case.ts';
import { isPlaceholderValue } from '../values.ts';
import { acceptLiteral, keywordClass, suffixAllowed } from './assignments.ts';

const FLAG = foldCase(/(?<![\w-])--(?:[a-z0-9]+-){0,4}(?<kw>password|passwd|pass|pwd|token|secret|api-key|apikey|access-key|secret-key|client-secret|auth-token|key)(?<suffix>[a-z0-9-]{0,20})(?:=|[ \t]+)(?:"(?<s1>[^"\r\n]{1,512})"|'(?<s2>[^'\r\n]{1,512})'|(?<s3>[^\s"'-][^\s"']{0,511}))/iyd);

function isWordOrDash(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45;
}

function isSpaceChar(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** isWordOrDash except `_`: the chars of a flag name before its separator. */
const FLAG_NAME_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) FLAG_NAME_CHAR[c] = isWordOrDash(c) && c !== 95 ? 1 : 0;

/**
 * A test FLAG cannot pass without: everything FLAG reads before the separator is
 * flag-name chars, so the separator (`=` or blanks) sits where the name's run of
 * [A-Za-z0-9-] ends, and the value starts after it with a quote or a char outside
 * \s, quotes and `-`. Rejects `--password --password …` without running the regex.
 */
function valueCanFollow(text: string, from: number): boolean {
  const n = text.length;
  let i = from;
  // [A-Za-z0-9-] by table: one load per char of the name, no call (hot on dense flags).
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c >= 128 || FLAG_NAME_CHAR[c] === 0) break;
    i++;
  }
  const sep = text.charCodeAt(i);
  if (sep === 61) i++;
  else if (sep === 32 || sep === 9) {
    while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  } else return false;
  if (i >= n) return false;
  const c = text.charCodeAt(i);
  return c === 34 || c === 39 || (c !== 45 && !isSpaceChar(c));
}

function scanFlag(ctx: ScanContext, at: number): void {
  // `--` starts a flag only after a non-word char and before a letter (not `-----BEGIN`).
  const text = ctx.text;
  const next = text.charCodeAt(at + 2);
  if ((at > 0 && isWordOrDash(text.charCodeAt(at - 1))) || !((next >= 65 && next <= 90) || (next >= 97 && next <= 122))) return;
  if (!valueCanFollow(text, at + 2)) return;
  FLAG.lastIndex = at;
  const m = FLAG.exec(ctx.text);
  if (m === null) return;
  const kw = m.groups?.['kw'] ?? '';
  const base = kw.replace(/^(?:secret|client|auth)-/i, '');
  if (!suffixAllowed(base, m.groups?.['suffix'] ?? '')) return;
  const idx = m.indices?.groups ?? {};
  const which = (['s1', 's2', 's3'] as const).find((n) => idx[n] !== undefined);
  if (which === undefined) return;
  const [start, end] = idx[which] as [number, number];
  const cls = keywordClass(base);
  if (!acceptLiteral(cls, base, ctx.text.slice(start, end), which !== 's3')) return;
  ctx.emit(start, end, cls, PRIORITY.assignment);
}

const VALUE = `(?:"(?<s1>[^"\\r\\n]{1,256})"|'(?<s2>[^'\\r\\n]{1,256})'|(?<s3>[^\\s"'\\-][^\\s"']{0,255}))`;
/**
 * A value glued to its flag (`mysql -pS3cret`): nothing in between, so a leading `-` is
 * part of the password (`-p-s3cr3t`), not the next flag as it may be after a blank. A
 * second dash (`-p--password`, `-p-----END`) reads as noise rather than a password.
 */
const GLUED_VALUE = `(?:"(?<s1>[^"\\r\\n]{1,256})"|'(?<s2>[^'\\r\\n]{1,256})'|(?<s3>(?:-(?=[^\\s"'\\-])|[^\\s"'\\-])[^\\s"']{0,255}))`;
const notPlaceholder = (v: string) => !isPlaceholderValue(v);

export const cliDetectors: readonly Detector[] = [
  { id: 'cli_flag', kinds: ['password', 'token', 'secret', 'api_key'], triggers: ['--'], caseSensitive: true, scan: scanFlag },
  contextRule({
    id: 'mysql_cli_password',
    kinds: ['mysql_cli_password'],
    triggers: ['mysql', 'mariadb'],
    lead: /(?<![\w-])(?:mysql(?:dump|admin|import|check|sh|slap)?|mariadb(?:-dump|-admin)?)(?![\w-])/,
    window: 400,
    maxValue: 260,
    value: new RegExp(`(?<=\\s)-p${GLUED_VALUE}`),
    priority: PRIORITY.context,
    accept: notPlaceholder,
  }),
  contextRule({
    id: 'redis_cli_password',
    kinds: ['redis_cli_password'],
    triggers: ['redis-cli'],
    lead: /redis-cli\b/,
    window: 400,
    maxValue: 260,
    value: new RegExp(`(?<=\\s)(?:-a|--pass)[ \\t]+${VALUE}`),
    priority: PRIORITY.context,
    accept: notPlaceholder,
  }),
  contextRule({
    id: 'login_password_flag',
    kinds: ['password'],
    triggers: ['docker', 'podman', 'nerdctl', 'helm', 'sshpass'],
    lead: /(?:(?:docker|podman|nerdctl)[ \t]+login|helm[ \t]+registry[ \t]+login|sshpass)\b/,
    window: 400,
    maxValue: 260,
    value: new RegExp(`(?<=\\s)(?:-p|--password)(?:[ \\t]+|=|(?=[^\\s-]))${VALUE}`),
    priority: PRIORITY.context,
    accept: notPlaceholder,
  }),
  // redis.conf / redis-server: `requirepass x`, `--requirepass x`, `masterauth x`.
  regexRule({
    id: 'redis_requirepass',
    kinds: ['password'],
    triggers: ['requirepass', 'masterauth'],
    re: new RegExp(`(?<![A-Za-z0-9_])(?:requirepass|masterauth)[ \\t]+${VALUE}`),
    priority: PRIORITY.context,
    accept: (v) => !isPlaceholderValue(v),
  }),
  regexRule({
    id: 'keytool_password',
    kinds: ['password'],
    triggers: ['storepass', 'keypass'],
    re: new RegExp(`(?<=-(?:src|dest|new)?)(?:store|key)pass[ \\t]+${VALUE}`),
    priority: PRIORITY.context,
    accept: notPlaceholder,
  }),
  contextRule({
    id: 'netrc_password',
    kinds: ['password'],
    triggers: ['machine'],
    lead: /(?<![\w-])machine[ \t]+[^\s]{1,253}/,
    window: 300,
    maxValue: 260,
    value: new RegExp(`(?<=\\s)password[ \\t]+${VALUE}`),
    priority: PRIORITY.context,
    accept: notPlaceholder,
  }),
];
