import type { AjpDispatchHandler, AjpRequestError } from '../src/index.js';

/** What a {@link collector} saw of one `dispatch()`. */
export interface Collected {
  status?: number;
  statusMessage?: string;
  headers?: string[];
  chunks: Buffer[];
  ended: boolean;
  error?: AjpRequestError;
  /** Calls in order: `headers`, `data`, `end`, `error`. */
  calls: string[];
  resume?: () => void;
  /** Settles on onEnd (true) or onError (false). */
  done: Promise<boolean>;
  text(): string;
}

/**
 * A dispatch handler that records everything. `pauseAt` makes `onHeaders` (0) or the n-th
 * `onData` (n ≥ 1) return false; `hooks` run inside the callbacks.
 */
export function collector(
  o: {
    pauseAt?: number;
    onHeaders?: (c: Collected) => void;
    onData?: (c: Collected) => void;
  } = {},
): { c: Collected; handler: AjpDispatchHandler } {
  let settle!: (v: boolean) => void;
  const c: Collected = {
    chunks: [],
    ended: false,
    calls: [],
    done: new Promise<boolean>((r) => (settle = r)),
    text: () => Buffer.concat(c.chunks).toString(),
  };
  const handler: AjpDispatchHandler = {
    onHeaders(status, statusMessage, headers, resume) {
      c.calls.push('headers');
      Object.assign(c, { status, statusMessage, headers, resume });
      o.onHeaders?.(c);
      return o.pauseAt !== 0;
    },
    onData(chunk) {
      c.calls.push('data');
      c.chunks.push(chunk);
      o.onData?.(c);
      return o.pauseAt !== c.chunks.length;
    },
    onEnd() {
      c.calls.push('end');
      c.ended = true;
      settle(true);
    },
    onError(err) {
      c.calls.push('error');
      c.error = err;
      settle(false);
    },
  };
  return { c, handler };
}
