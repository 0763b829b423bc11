import { request } from 'node:http';
import { connect } from 'node:net';

/** What one health probe found. */
export interface ProbeResult {
  readonly ok: boolean;
  /** Why it failed (a person can act on it), when it did. */
  readonly error?: string;
}

/** How to probe one member (resolved from the balancer's `healthCheck`). */
export interface ProbeSpec {
  readonly type: 'http' | 'tcp' | 'ajp';
  readonly host: string;
  readonly port: number;
  readonly timeout: number;
  /** HTTP only. */
  readonly method?: string;
  readonly path?: string;
  readonly hostHeader?: string;
  /** HTTP only: whether a status passes. */
  readonly expectStatus?: (status: number) => boolean;
  /** HTTP only: a pattern the first 64 KiB of the body must match. */
  readonly expectBody?: RegExp;
}

const CPING = Buffer.from([0x12, 0x34, 0x00, 0x01, 0x0a]);
const CPONG = Buffer.from([0x41, 0x42, 0x00, 0x01, 0x09]);
const BODY_LIMIT = 65_536;

/**
 * Parses `expectStatus` ("200-399", "200,204", "2xx") into a test. The schema has checked the
 * syntax already.
 */
export function statusMatcher(spec: string): (status: number) => boolean {
  const ranges: [number, number][] = spec.split(',').map((part) => {
    const p = part.trim().toLowerCase();
    if (p.endsWith('xx')) {
      const d = Number(p[0]) * 100;
      return [d, d + 99];
    }
    const [a, b] = p.split('-');
    return [Number(a), Number(b ?? a)];
  });
  return (s) => ranges.some(([a, b]) => s >= a && s <= b);
}

/** One HTTP check on a new connection (as HAProxy's `option httpchk`): status, then body. */
function probeHttp(s: ProbeSpec): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = request({
      host: s.host,
      port: s.port,
      method: s.method ?? 'GET',
      path: s.path ?? '/',
      agent: false,
      headers: {
        Host: s.hostHeader ?? `${s.host}:${s.port}`,
        'User-Agent': 'cohort-proxy-health-check',
        Connection: 'close',
      },
    });
    const timer = setTimeout(
      () => finish({ ok: false, error: `no answer within ${s.timeout} ms` }),
      s.timeout,
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      finish({ ok: false, error: e.code ?? e.message }),
    );
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (s.expectStatus !== undefined && !s.expectStatus(status)) {
        finish({ ok: false, error: `status ${status}` });
        return;
      }
      const pattern = s.expectBody;
      if (pattern === undefined) {
        finish({ ok: true });
        return;
      }
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => {
        if (body.length < BODY_LIMIT) body += c;
        if (body.length >= BODY_LIMIT) res.destroy();
      });
      const judge = (): void =>
        finish(
          pattern.test(body.slice(0, BODY_LIMIT))
            ? { ok: true }
            : { ok: false, error: `the body does not match ${String(pattern)}` },
        );
      res.on('end', judge);
      res.on('close', judge);
      res.on('error', () => judge());
    });
    req.end();
  });
}

/** A TCP connect (HAProxy's plain `check`), or an AJP CPing answered by CPong (mod_jk's probe). */
function probeSocket(s: ProbeSpec): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    let got = Buffer.alloc(0);
    const sock = connect({ host: s.host, port: s.port });
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          error:
            s.type === 'ajp'
              ? `no CPong within ${s.timeout} ms`
              : `no connection within ${s.timeout} ms`,
        }),
      s.timeout,
    );
    sock.on('error', (e: NodeJS.ErrnoException) =>
      finish({ ok: false, error: e.code ?? e.message }),
    );
    sock.on('close', () => finish({ ok: false, error: 'the member closed the connection' }));
    sock.on('connect', () => {
      if (s.type === 'tcp') finish({ ok: true });
      else sock.write(CPING);
    });
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < CPONG.length) return;
      finish(
        got.subarray(0, CPONG.length).equals(CPONG)
          ? { ok: true }
          : { ok: false, error: 'the answer to CPing is not CPong' },
      );
    });
  });
}

/** Runs one probe; never rejects. */
export function probe(s: ProbeSpec): Promise<ProbeResult> {
  return s.type === 'http' ? probeHttp(s) : probeSocket(s);
}
