/**
 * The daemon's last log lines in memory (what the `logs` command returns), redacted when read:
 * credentials as everywhere (core/redact.ts: secret-named keys, URL user info), plus what a log
 * shipped off the mirror must not carry: bearer tokens, PEM blocks, keys named like a secret
 * anywhere in their name (authorization, cookie, signature, nonce...), and every IP address
 * (shoppers' phones reach the kiosk network; a store's addresses are not the fleet's business).
 * Nothing is written to disk here; the ring forgets with the process.
 */
import { isIPv6 } from 'node:net';
import { REDACTED, redactSecrets } from '../core/redact.ts';

export const IP_REDACTED = '[ip]';

const IPV4 = /\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b/g;
/** Runs of hex digits and colons (with an optional %zone); net.isIPv6 decides which are addresses. */
const IPV6_CANDIDATE = /(?<![\w:])[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(?:%\w+)?(?![\w:])/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;
const PEM = /-----BEGIN [A-Z ]+-----[\s\S]*?(?:-----END [A-Z ]+-----|$)/g;
const SECRETISH_KEY = /password|passphrase|secret|token|api[-_]?key|private[-_]?key|authorization|cookie|signature|nonce|credential/i;

function scrubText(s: string): string {
  return s
    .replace(PEM, REDACTED)
    .replace(BEARER, `$1 ${REDACTED}`)
    .replace(IPV4, IP_REDACTED)
    .replace(IPV6_CANDIDATE, (m) => (isIPv6(m.replace(/%\w+$/, '')) ? IP_REDACTED : m));
}

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (depth > 16 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRETISH_KEY.test(k) && v !== null && v !== undefined ? REDACTED : scrub(v, depth + 1)]));
}

/** One log line (pino JSON, or any text) with secrets and addresses masked. */
export function redactLogLine(line: string): string {
  const text = line.trimEnd();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return scrubText(text);
  }
  return JSON.stringify(scrub(redactSecrets(parsed)));
}

export class LogRing {
  private readonly lines: string[] = [];
  private next = 0;

  constructor(
    readonly capacity = 2000,
    /** A longer line is cut (a stack trace, a huge object): the ring's memory stays bounded. */
    readonly maxLineChars = 4096,
  ) {}

  push(line: string): void {
    const cut = line.length > this.maxLineChars ? line.slice(0, this.maxLineChars) : line;
    if (this.lines.length < this.capacity) this.lines.push(cut);
    else this.lines[this.next] = cut;
    this.next = (this.next + 1) % this.capacity;
  }

  /**
   * The last `n` lines, oldest first, redacted; older ones dropped until the lines, as they will
   * be sent (each a JSON string, quotes escaped, plus its comma), fit in `maxBytes`.
   */
  tail(n: number, maxBytes: number): { lines: string[]; truncated: boolean } {
    const ordered = this.lines.length < this.capacity ? this.lines : [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
    // Cut again after redaction: a mask may be longer than what it hides (`::1` → `[ip]`).
    const picked = ordered.slice(-n).map((l) => redactLogLine(l).slice(0, this.maxLineChars));
    const size = (line: string) => Buffer.byteLength(JSON.stringify(line)) + 1;
    let bytes = 0;
    let from = picked.length;
    while (from > 0 && bytes + size(picked[from - 1]) <= maxBytes) bytes += size(picked[--from]);
    return { lines: picked.slice(from), truncated: from > 0 };
  }
}
