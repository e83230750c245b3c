/**
 * Credentials in transport syntax: Authorization headers, curl `-u`, and passwords inside
 * URLs and connection strings. For URLs only the password is replaced, so
 * `postgres://app:⟦secret:1:postgres_url_password⟧@db:5432/app` still reads as a URL.
 */
import { PRIORITY, regexRule, type Detector } from '../detector.ts';
import { contextRule } from '../context-rule.ts';
import { charClasses, isCodeReference, isPlaceholderValue, looksRandom } from '../values.ts';

/** Opaque header credentials must look generated: "Bearer tokens are great" is prose. */
function credentialShape(v: string): boolean {
  if (isPlaceholderValue(v)) return false;
  const c = charClasses(v);
  return (c.digit && (c.lower || c.upper)) || looksRandom(v, 16);
}

function decodesToUserPass(v: string): boolean {
  const s = Buffer.from(v, 'base64').toString('latin1');
  return /^[\x20-\x7e]{1,256}:[\x20-\x7e]{1,256}$/.test(s) && !s.startsWith(':') && !isPlaceholderValue(s.slice(s.indexOf(':') + 1));
}

const URL_KIND: readonly [RegExp, string][] = [
  [/^(?:jdbc:)?(?:postgres|postgresql|pg|pgsql|cockroachdb)(?:\+|$)/, 'postgres_url_password'],
  [/^(?:mysql|mariadb|mysqlx)(?:\+|$)|^mysql\+/, 'mysql_url_password'],
  [/^mongodb(?:\+srv)?$/, 'mongodb_url_password'],
  [/^rediss?$|^redis\+/, 'redis_url_password'],
  [/^amqps?$/, 'amqp_url_password'],
  [/^(?:mssql|sqlserver)$/, 'mssql_url_password'],
  [/^(?:s?ftps?)$/, 'ftp_url_password'],
  [/^(?:\w+\+)?https?$|^wss?$/, 'http_url_password'],
];

function urlKind(scheme: string): string {
  const s = scheme.toLowerCase();
  for (const [re, kind] of URL_KIND) if (re.test(s)) return kind;
  return 'url_password';
}

export const httpDetectors: readonly Detector[] = [
  regexRule({
    id: 'authorization_header',
    kinds: ['authorization_header', 'bearer_token', 'basic_auth'],
    triggers: ['authorization'],
    re: /authorization["']?[ \t]{0,4}[:=][ \t]{0,4}["']?(?:(?<scheme>token|bearer|basic|digest|apikey|sso-key|key|bot)[ \t]{1,4}|key[ \t]{0,2}=[ \t]{0,2})?(?<s>[A-Za-z0-9\-._~+/]{8,4096}={0,2})/i,
    priority: PRIORITY.structured,
    tail: () => 0,
    accept: (v, m) => (m.groups?.['scheme']?.toLowerCase() === 'basic' ? decodesToUserPass(v) : credentialShape(v)),
    kindOf: (m) => {
      const scheme = m.groups?.['scheme']?.toLowerCase();
      return scheme === 'bearer' ? 'bearer_token' : scheme === 'basic' ? 'basic_auth' : 'authorization_header';
    },
  }),
  regexRule({
    id: 'bearer_token',
    kinds: ['bearer_token'],
    triggers: ['bearer'],
    tail: () => 0,
    re: /(?<![A-Za-z])bearer[ \t]{1,4}(?<s>[A-Za-z0-9\-._~+/]{8,4096}=*)(?![A-Za-z0-9\-._~+/=])/i,
    priority: PRIORITY.structured,
    accept: credentialShape,
  }),
  regexRule({
    id: 'basic_auth',
    kinds: ['basic_auth'],
    triggers: ['basic'],
    tail: () => 0,
    re: /(?<![A-Za-z])basic[ \t]{1,4}(?<s>[A-Za-z0-9+/]{8,1024}={0,2})(?![A-Za-z0-9+/=])/i,
    priority: PRIORITY.structured,
    accept: decodesToUserPass,
  }),
  contextRule({
    id: 'curl_user',
    kinds: ['basic_auth'],
    triggers: ['curl', 'wget', 'http '],
    lead: /(?<![\w-])(?:curl|wget|http)\b/,
    window: 800,
    maxValue: 400,
    sameLine: false,
    value: /(?<=\s)(?:-u|--user|--auth|-a)(?:[ \t]+|=)?["']?[^\s:'"]{1,128}:(?<s>[^\s'"]{1,256})/,
    priority: PRIORITY.structured,
    accept: (v) => !isPlaceholderValue(v),
  }),
  regexRule({
    id: 'url_password',
    kinds: [...new Set(URL_KIND.map(([, k]) => k)), 'url_password'],
    triggers: ['://'],
    re: /(?<=(?<![A-Za-z0-9+.-])(?<scheme>[A-Za-z][A-Za-z0-9+.-]{0,24})):\/\/[^\s:/?#@"'<>[\]]{0,128}:(?<s>[^\s/?#"'<>]{1,256})@(?<h>[A-Za-z0-9.\-_%]{1,255}|\[[0-9a-fA-F:.]{2,64}\])(?=[:/?#\s"'<>),;\]}]|$)/,
    priority: PRIORITY.url,
    tail: (m) => (m.groups?.['h'] ?? '').length + 1,
    accept: (v) => !isPlaceholderValue(v) && !/^\d{1,5}$/.test(v),
    kindOf: (m) => urlKind(m.groups?.['scheme'] ?? ''),
  }),
  contextRule({
    id: 'jdbc_password',
    kinds: ['jdbc_password'],
    triggers: ['jdbc:'],
    lead: /jdbc:[a-z0-9]{2,20}:/i,
    window: 512,
    maxValue: 300,
    value: /(?<=[?&;:])(?:password|pwd)=(?<s>[^&;\s"'<>]{1,256})/i,
    priority: PRIORITY.url,
    accept: (v) => !isPlaceholderValue(v),
  }),
  regexRule({
    id: 'jdbc_oracle_password',
    kinds: ['jdbc_password'],
    triggers: ['jdbc:oracle:'],
    re: /jdbc:oracle:(?:thin|oci):[^\s/@:"']{1,64}\/(?<s>[^\s@"']{1,128})@/i,
    priority: PRIORITY.url,
    accept: (v) => !isPlaceholderValue(v),
  }),
  // ADO.NET / ODBC: `Server=…;User Id=…;Password=…;` — values may contain spaces up to `;`.
  regexRule({
    id: 'connection_string_password',
    kinds: ['connection_string_password'],
    triggers: ['password', 'pwd'],
    re: /(?<![A-Za-z0-9_\-.])(?:password|pwd)[ \t]{0,4}=[ \t]{0,4}(?:\{(?<s1>[^}\r\n]{1,256})\}|'(?<s2>[^'\r\n]{1,256})'|"(?<s3>[^"\r\n]{1,256})"|(?<s4>[^;\s"'{=](?:[^;\r\n"'=]{0,254}[^;\s"'=])?)(?=[ \t]*(?:;|["'\r\n]|$)))/i,
    priority: PRIORITY.url,
    tail: (m) => (m.groups?.['s4'] === undefined ? 1 : 0),
    accept: (v, m, text) => {
      if (isPlaceholderValue(v) || (m.groups?.['s4'] !== undefined && isCodeReference(v))) return false;
      // Connection-string shape: another `Name=value;` pair right before or right after.
      const end = m.index + m[0].length;
      if (/^[ \t]*;[ \t]*[A-Za-z][A-Za-z ]{0,30}=/.test(text.slice(end, end + 40))) return true;
      return /[A-Za-z][A-Za-z ]{0,30}=[^;\r\n]{0,256};[ \t]*$/.test(text.slice(Math.max(0, m.index - 300), m.index));
    },
  }),
];
