import { OutgoingMessage, ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The behaviours of `http.ServerResponse` that differ between the Node releases cohort runs on, as
 * the running Node shows them. {@link AjpServerResponse} follows these, so an application sees the
 * same response behind AJP as over HTTP on the same Node.
 *
 * Each is found by running Node's own `http` code once at load (no socket, no I/O), not from the
 * version number: the end-callback change came to 24.x in a minor release (24.19.0 has the old
 * order, 24.20.0 the new; 26.0.0 the old, 26.12.1 the new), so a version test would be wrong on
 * some releases. Should a probe itself fail (Node's internals moved, so a release newer than those
 * tested), the newer behaviour is assumed from Node 24 (end callbacks) and 22 (`writeHead`) on.
 *
 * @internal
 */
export interface NodeHttpBehaviour {
  /**
   * `end(cb)` queues `cb` and runs every queued end callback (with `null`) just before `'finish'`
   * is emitted, so before `'finish'` listeners added earlier; when the response fails to flush
   * (the connection went away after `end()`), the end callbacks get the error. Otherwise (Node 20,
   * 22, 24 before 24.20) `cb` is a `'finish'` listener, after those added before it, and is never
   * called when `'finish'` never comes.
   */
  readonly endCallbacksBeforeFinish: boolean;
  /**
   * `writeHead(status, [name, value, name, value…])` after `setHeader` keeps every value of a name
   * repeated in the flat array (it removes the names first, then appends each pair). Otherwise
   * (Node 20) each pair replaces the one before, so only the last value of a name is sent.
   * Node 22.0.0 and later.
   */
  readonly writeHeadKeepsRepeatedNames: boolean;
}

const major = Number(process.versions.node.split('.')[0]);

/** Whether `end()`'s callback runs before a `'finish'` listener added before it. */
function probeEndCallbacks(): boolean {
  const msg = new OutgoingMessage();
  // a socket that takes every write at once, calling its callback synchronously
  const socket = {
    writable: true,
    destroyed: false,
    _httpMessage: msg,
    _writableState: { corked: 0 },
    cork: () => undefined,
    uncork: () => undefined,
    on() {
      return this;
    },
    write(_data: unknown, _encoding: unknown, cb?: unknown) {
      if (typeof cb === 'function') (cb as () => void)();
      return true;
    },
  };
  // (Node's setter: `socket` is read-only only in the types); the head counts as sent, so end()
  // neither builds one nor calls _implicitHeader
  Object.assign(msg, {
    socket: socket as unknown as Socket,
    _header: 'HTTP/1.1 200 OK\r\n\r\n',
    _headerSent: true,
  });
  const order: string[] = [];
  msg.on('finish', () => order.push('finish'));
  msg.end('x', () => order.push('callback'));
  if (order.length !== 2) throw new Error(`unexpected end() events: ${order.join(', ')}`);
  return order[0] === 'callback';
}

/** Whether `writeHead` with a flat array keeps both values of a repeated name. */
function probeWriteHead(): boolean {
  const req = { method: 'GET', httpVersionMajor: 1, httpVersionMinor: 1, headers: {} };
  const res = new ServerResponse(req as IncomingMessage);
  res.setHeader('x-probe', '0');
  res.writeHead(200, ['x-probe', '1', 'x-probe', '2']);
  const value = res.getHeader('x-probe');
  if (Array.isArray(value)) return true;
  if (value === '2') return false;
  throw new Error(`unexpected writeHead result: ${JSON.stringify(value)}`);
}

function probe(f: () => boolean, otherwise: boolean): boolean {
  try {
    return f();
  } catch {
    return otherwise;
  }
}

/**
 * What this process's Node does; see {@link NodeHttpBehaviour}.
 *
 * @internal
 */
export const nodeHttpBehaviour: NodeHttpBehaviour = Object.freeze({
  endCallbacksBeforeFinish: probe(probeEndCallbacks, major >= 24),
  writeHeadKeepsRepeatedNames: probe(probeWriteHead, major >= 22),
});
