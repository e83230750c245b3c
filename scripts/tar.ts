/**
 * Minimal in-memory ustar writer, enough for a Docker build context (regular files and
 * directories, names under 100 bytes). tar-stream is only a transitive, untyped
 * dependency of dockerode, so relying on it would break the day dockerode drops it.
 */
export interface TarEntry {
  name: string;
  /** Absent for directories. */
  data?: Buffer | string;
  mode?: number;
}

const BLOCK = 512;

function writeString(header: Buffer, value: string, offset: number, length: number): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar: "${value}" is longer than ${length} bytes`);
  bytes.copy(header, offset);
}

// Numeric fields are zero-padded octal followed by a NUL, as every tar reader expects.
function writeOctal(header: Buffer, value: number, offset: number, length: number): void {
  writeString(header, value.toString(8).padStart(length - 1, '0'), offset, length - 1);
}

function headerFor(entry: TarEntry, size: number, isDir: boolean): Buffer {
  const header = Buffer.alloc(BLOCK);
  const name = isDir && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  writeString(header, name, 0, 100);
  writeOctal(header, entry.mode ?? (isDir ? 0o755 : 0o644), 100, 8);
  writeOctal(header, 0, 108, 8); // uid
  writeOctal(header, 0, 116, 8); // gid
  writeOctal(header, size, 124, 12);
  // A fixed mtime keeps the context byte-identical between runs, so Docker's build cache hits.
  writeOctal(header, 0, 136, 12);
  header.write(isDir ? '5' : '0', 156, 'ascii');
  writeString(header, 'ustar\0', 257, 6);
  writeString(header, '00', 263, 2);
  // The checksum is computed with its own field read as eight spaces.
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  writeString(header, `${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return header;
}

export function createTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const isDir = entry.data === undefined;
    const data = Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data ?? '', 'utf8');
    parts.push(headerFor(entry, data.length, isDir));
    if (data.length > 0) {
      parts.push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}
