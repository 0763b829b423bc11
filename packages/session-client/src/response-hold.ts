import type { ServerResponse } from 'node:http';

type Call = {
  readonly method: 'writeHead' | 'write' | 'end' | 'flushHeaders';
  readonly args: unknown[];
};

/**
 * Called at the response's first output (headers or body), while headers can still be set. It
 * returns undefined to let the output go at once, or a promise: the output, and everything
 * written after it, is held until the promise settles. On rejection `onFailure` answers instead
 * (the held output is discarded).
 */
export interface HoldHooks {
  readonly beforeOutput: () => Promise<void> | undefined;
  readonly onFailure: (err: unknown, send: (status: number, body: string) => void) => void;
  /**
   * `Set-Cookie` values the hook added. `writeHead(status, headers)` replaces headers set before
   * with those it is given; when it is given its own `Set-Cookie`, these are added to it so the
   * session cookie is not lost.
   */
  readonly cookies?: () => readonly string[];
}

/** Adds `extra` cookies to a `Set-Cookie` given to `writeHead` as an object, if it has one. */
function withCookies(args: unknown[], extra: readonly string[]): unknown[] {
  if (extra.length === 0) return args;
  const i = args.findIndex((a) => typeof a === 'object' && a !== null && !Array.isArray(a));
  if (i < 0) return args;
  const headers = args[i] as Record<string, unknown>;
  const name = Object.keys(headers).find((k) => k.toLowerCase() === 'set-cookie');
  if (name === undefined) return args;
  const v = headers[name];
  const theirs = Array.isArray(v) ? v.map(String) : [String(v)];
  const copy = [...args];
  copy[i] = { ...headers, [name]: [...theirs, ...extra.filter((c) => !theirs.includes(c))] };
  return copy;
}

/**
 * Makes a response wait for the session write: the first call of `writeHead`, `write`, `end` or
 * `flushHeaders` runs `beforeOutput` (which sets the cookie and starts the write); while its
 * promise is pending those calls are queued in order (`write` answers false so streams wait for
 * `drain`), then replayed. Nothing reaches the client before the write is acknowledged, so a
 * browser that follows a redirect at once reads the new state (express-session's save-vs-redirect
 * race cannot happen). What is held is what the application writes during one store round trip.
 */
export function holdResponse(res: ServerResponse, hooks: HoldHooks): void {
  const original = {
    writeHead: res.writeHead,
    write: res.write,
    end: res.end,
    flushHeaders: res.flushHeaders,
  };
  let state: 'idle' | 'holding' | 'released' = 'idle';
  const queue: Call[] = [];
  let needDrain = false;

  const run = (call: Call): unknown =>
    (original[call.method] as (...a: unknown[]) => unknown).apply(
      res,
      call.method === 'writeHead' && hooks.cookies
        ? withCookies(call.args, hooks.cookies())
        : call.args,
    );

  const release = (): void => {
    state = 'released';
    for (const call of queue.splice(0)) run(call);
    if (needDrain) res.emit('drain');
  };

  const fail = (err: unknown): void => {
    state = 'released';
    const dropped = queue.splice(0);
    for (const call of dropped) {
      const cb = call.args.find((a) => typeof a === 'function') as
        ((e?: Error) => void) | undefined;
      if (cb !== undefined && call.method !== 'writeHead') {
        process.nextTick(cb, err instanceof Error ? err : new Error(String(err)));
      }
    }
    const send = (status: number, body: string): void => {
      if (res.headersSent) {
        res.destroy(err instanceof Error ? err : undefined);
        return;
      }
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      res.statusCode = status;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.setHeader('content-length', Buffer.byteLength(body));
      res.setHeader('cache-control', 'no-store');
      (original.end as (b: string) => void).call(res, body);
    };
    hooks.onFailure(err, send);
  };

  const intercept = (method: Call['method']) =>
    function (this: ServerResponse, ...args: unknown[]): unknown {
      if (state === 'released') return run({ method, args });
      if (state === 'idle') {
        let pending: Promise<void> | undefined;
        try {
          pending = hooks.beforeOutput();
        } catch (err) {
          state = 'holding';
          queue.push({ method, args });
          fail(err);
          return method === 'write' ? false : res;
        }
        if (pending === undefined) {
          state = 'released';
          return run({ method, args });
        }
        state = 'holding';
        pending.then(release, fail);
      }
      queue.push({ method, args });
      if (method === 'write') {
        needDrain = true;
        return false;
      }
      return method === 'flushHeaders' ? undefined : res;
    };

  res.writeHead = intercept('writeHead') as ServerResponse['writeHead'];
  res.write = intercept('write') as ServerResponse['write'];
  res.end = intercept('end') as ServerResponse['end'];
  res.flushHeaders = intercept('flushHeaders') as ServerResponse['flushHeaders'];
}
