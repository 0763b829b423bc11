import { once } from 'node:events';
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';

import { ManagementError } from '../management-error.js';
import type { AddedMember } from '../overrides.js';
import type { CohortProxy } from '../proxy.js';
import { STATUS_CSS, STATUS_JS } from './assets.js';
import { AdminError } from './errors.js';
import { ProxyMetrics } from './metrics.js';
import { renderPage, type PageMessage } from './page.js';
import type { AdminToken } from './token.js';
import { liveUpdate, memberKey } from './view.js';

/** Largest request body the admin listener reads. */
const MAX_BODY = 64 * 1024;
/** A WebSocket client with more unsent than this misses updates until it catches up. */
const MAX_BUFFERED = 1024 * 1024;

/** Options of {@link AdminServer}. */
export interface AdminServerOptions {
  /** Path prefix of the page and the API (default `admin.path` of the configuration, else `/cohort-status`). */
  readonly path?: string;
  /**
   * The token changes need, read at every request (default: the configuration's `admin.token`,
   * so a SIGHUP reload changes it). Undefined: the listener is read-only.
   */
  readonly token?: () => AdminToken | undefined;
  /** Least interval between live pushes without changes, ms (default 1000). */
  readonly pushIntervalMs?: number;
  /** Logger (default the proxy's). */
  readonly logger?: Logger;
}

const SECURITY_HEADERS: OutgoingHttpHeaders = {
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** A balancer or route name from the URL path. */
function decodeName(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new AdminError('BAD_REQUEST', `bad percent-encoding in "${segment.slice(0, 100)}"`);
  }
}

/** A state button of the page: cohort's state names (the API takes every alias). */
const FORM_STATES = new Set(['active', 'draining', 'disabled', 'stopped', 'standby']);

/**
 * The admin listener of a {@link CohortProxy} (httpd balancer-manager, mod_jk's status worker,
 * HAProxy's stats page and runtime API, Envoy's admin listener), on a node:http server of its
 * own:
 *
 * - `GET <path>`: the status page (server-rendered, works without JavaScript); `POST
 *   <path>/action`: its form (token in a field, 303 back to the page);
 * - `<path>/ws`: the live page's WebSocket, a snapshot on every change and every second;
 * - `GET <path>/api/status`: the snapshot as JSON;
 * - `PATCH|POST <path>/api/balancers/:b/members/:route` `{state?, weight?}`, `POST
 *   <path>/api/balancers/:b/members` (a member), `DELETE …/members/:route`: changes, with
 *   `Authorization: Bearer <token>`;
 * - `GET /metrics`: Prometheus text.
 *
 * Reading needs no token; every change does, and with no token configured changes are refused
 * (403). Errors are `{ error: { code, message } }` with the status of a {@link ManagementError}
 * or an {@link AdminError}.
 */
export class AdminServer {
  /** The HTTP server. */
  readonly server: Server;
  /** The Prometheus metrics served at `/metrics`. */
  readonly metrics: ProxyMetrics;
  private readonly path: string;
  private readonly token: () => AdminToken | undefined;
  private readonly log: Logger;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  private readonly pushIntervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly onProxyEvent = (): void => this.schedulePush();

  /** Builds the admin server of `proxy` (call {@link listen}). */
  constructor(
    private readonly proxy: CohortProxy,
    options: AdminServerOptions = {},
  ) {
    this.path = options.path ?? proxy.config.admin?.path ?? '/cohort-status';
    this.token = options.token ?? (() => this.proxy.config.admin?.token);
    this.log = options.logger ?? proxy.log;
    this.pushIntervalMs = options.pushIntervalMs ?? 1000;
    this.metrics = new ProxyMetrics(proxy);
    this.server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
      this.handle(req, res).catch((e: unknown) => this.fail(res, e));
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    proxy.events.on('change', this.onProxyEvent);
    proxy.events.on('health', this.onProxyEvent);
  }

  /** Listens (default: the configuration's `admin.listen`, else 127.0.0.1:8001). */
  async listen(
    port = this.proxy.config.admin?.listen.port ?? 8001,
    host = this.proxy.config.admin?.listen.host ?? '127.0.0.1',
  ): Promise<AddressInfo> {
    this.server.listen(port, host);
    await once(this.server, 'listening');
    return this.server.address() as AddressInfo;
  }

  /** Stops listening, closes the live pages' sockets and every connection. */
  async close(): Promise<void> {
    this.proxy.events.off('change', this.onProxyEvent);
    this.proxy.events.off('health', this.onProxyEvent);
    this.metrics.close();
    clearInterval(this.timer);
    clearTimeout(this.pending);
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
    const closed = this.server.listening
      ? new Promise<void>((r) => this.server.close(() => r()))
      : Promise.resolve();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  // ---- routing ------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const p = url.pathname;
    const method = req.method ?? 'GET';
    const read = method === 'GET' || method === 'HEAD';
    const base = this.path;
    if (p === '/metrics') {
      if (!read) throw new AdminError('METHOD_NOT_ALLOWED', 'GET /metrics');
      const text = await this.metrics.text();
      return this.send(res, 200, this.metrics.contentType, text, method === 'HEAD');
    }
    if (p === '/' && read) return this.redirect(res, base);
    if (p === '/favicon.ico' && read) {
      res.writeHead(204, SECURITY_HEADERS);
      res.end();
      return;
    }
    if (p === base || p === `${base}/`) {
      if (!read) throw new AdminError('METHOD_NOT_ALLOWED', `GET ${base}`);
      return this.page(res, url, method === 'HEAD');
    }
    if (p === `${base}/assets/status.css` && read)
      return this.send(res, 200, 'text/css; charset=utf-8', STATUS_CSS, method === 'HEAD');
    if (p === `${base}/assets/status.js` && read)
      return this.send(res, 200, 'text/javascript; charset=utf-8', STATUS_JS, method === 'HEAD');
    if (p === `${base}/action`) {
      if (method !== 'POST') throw new AdminError('METHOD_NOT_ALLOWED', `POST ${base}/action`);
      return this.formAction(req, res);
    }
    if (p === `${base}/api/status`) {
      if (!read) throw new AdminError('METHOD_NOT_ALLOWED', `GET ${base}/api/status`);
      return this.json(res, 200, this.proxy.status());
    }
    const m = p.startsWith(`${base}/api/balancers/`)
      ? /^\/([^/]+)\/members(?:\/([^/]+))?$/.exec(p.slice(`${base}/api/balancers`.length))
      : null;
    if (m !== null) {
      const balancer = decodeName(m[1]!);
      const route = m[2] === undefined ? undefined : decodeName(m[2]);
      return this.api(req, res, method, balancer, route);
    }
    throw new AdminError('NOT_FOUND', `nothing at ${p}`);
  }

  private page(res: ServerResponse, url: URL, head: boolean): void {
    const ok = url.searchParams.get('ok');
    const error = url.searchParams.get('error');
    const message: PageMessage | undefined =
      error !== null
        ? { kind: 'error', text: error.slice(0, 300) }
        : ok !== null
          ? { kind: 'ok', text: ok.slice(0, 300) }
          : undefined;
    const html = renderPage(this.proxy.status(), {
      path: this.path,
      changesEnabled: this.token() !== undefined,
      message,
    });
    this.send(res, 200, 'text/html; charset=utf-8', html, head, {
      'Content-Security-Policy': PAGE_CSP,
    });
  }

  // ---- changes ------------------------------------------------------------------------------

  /** Checks the token of a change; throws 403 without a configured token, 401 for a bad one. */
  private authorize(req: IncomingMessage, given: string | undefined): void {
    const token = this.token();
    if (token === undefined)
      throw new AdminError(
        'CHANGES_DISABLED',
        'changes are disabled: no admin token is configured (admin.token or admin.tokenFile)',
      );
    if (!token.matches(given)) {
      this.log.warn(
        { remote: req.socket.remoteAddress, path: (req.url ?? '').split('?')[0] },
        given === undefined
          ? 'admin change without a token refused'
          : 'admin change with a wrong token refused',
      );
      throw new AdminError(
        'UNAUTHORIZED',
        given === undefined ? 'a token is required for changes' : 'wrong token',
      );
    }
  }

  private bearer(req: IncomingMessage): string | undefined {
    const h = req.headers.authorization;
    if (h === undefined) return undefined;
    const m = /^Bearer +(\S+) *$/i.exec(h);
    return m === null ? '' : m[1];
  }

  private async api(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    balancer: string,
    route: string | undefined,
  ): Promise<void> {
    const allowed = route === undefined ? ['POST'] : ['PATCH', 'POST', 'DELETE'];
    if (!allowed.includes(method)) {
      res.setHeader('Allow', allowed.join(', '));
      throw new AdminError('METHOD_NOT_ALLOWED', `use ${allowed.join(' or ')}`);
    }
    this.authorize(req, this.bearer(req));
    if (method === 'DELETE') {
      this.proxy.removeMember(balancer, route!);
      return this.json(res, 200, { removed: { balancer, route } });
    }
    const body = await this.jsonBody(req);
    if (route === undefined) {
      if ('source' in body)
        throw new AdminError('BAD_REQUEST', 'unknown key "source" (set by the proxy)');
      this.proxy.addMember(balancer, body as unknown as AddedMember);
      return this.json(res, 201, { member: this.memberStatus(balancer, String(body['route'])) });
    }
    const { state, weight, ...rest } = body;
    const extra = Object.keys(rest);
    if (extra.length > 0)
      throw new AdminError('BAD_REQUEST', `unknown key "${extra[0]}" (expected state, weight)`);
    if (state === undefined && weight === undefined)
      throw new AdminError('BAD_REQUEST', 'expected state and/or weight');
    if (state !== undefined && typeof state !== 'string')
      throw new ManagementError('INVALID_STATE', 'state must be a string');
    this.proxy.setMember(balancer, route, {
      state: state as string | undefined,
      weight: weight as number | undefined,
    });
    return this.json(res, 200, { member: this.memberStatus(balancer, route) });
  }

  private memberStatus(balancer: string, route: string): unknown {
    return this.proxy
      .status()
      .balancers.find((b) => b.name === balancer)
      ?.members.find((m) => memberKey(m) === `${balancer}/${route}`);
  }

  /** The page's form: one action per button, then 303 back to the page with the outcome. */
  private async formAction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded')
      throw new AdminError(
        'UNSUPPORTED_MEDIA_TYPE',
        'expected a form (application/x-www-form-urlencoded)',
      );
    const form = new URLSearchParams((await this.readBody(req)).toString('utf8'));
    const op = form.get('op') ?? 'refresh';
    if (op === 'refresh') return this.redirect(res, this.path);
    let outcome: string;
    try {
      this.authorize(req, form.get('token') ?? undefined);
      outcome = this.applyForm(op, form);
    } catch (e) {
      if (e instanceof AdminError || e instanceof ManagementError)
        return this.redirect(
          res,
          `${this.path}?error=${encodeURIComponent(`${e.message} (${e.code})`)}`,
        );
      throw e;
    }
    this.redirect(res, `${this.path}?ok=${encodeURIComponent(outcome)}`);
  }

  private applyForm(op: string, form: URLSearchParams): string {
    const [action = '', balancer = '', route = ''] = op.split('|');
    if (action === 'add') {
      const w = (form.get(`add-weight|${balancer}`) ?? '').trim();
      const member: Record<string, unknown> = {
        url: (form.get(`add-url|${balancer}`) ?? '').trim(),
        route: (form.get(`add-route|${balancer}`) ?? '').trim(),
      };
      if (w !== '') member['weight'] = Number(w);
      this.proxy.addMember(balancer, member as unknown as AddedMember);
      return `${balancer}/${String(member['route'])} added`;
    }
    if (action === 'remove') {
      this.proxy.removeMember(balancer, route);
      return `${balancer}/${route} removed`;
    }
    if (action === 'weight') {
      const w = Number((form.get(`weight|${balancer}|${route}`) ?? '').trim());
      this.proxy.setMember(balancer, route, { weight: w });
      return `${balancer}/${route}: weight ${w}`;
    }
    if (FORM_STATES.has(action)) {
      this.proxy.setMember(balancer, route, { state: action });
      return `${balancer}/${route}: ${action}`;
    }
    throw new AdminError('BAD_REQUEST', `unknown action "${action}"`);
  }

  // ---- bodies and answers -------------------------------------------------------------------

  private async readBody(req: IncomingMessage): Promise<Buffer> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY) throw new AdminError('BODY_TOO_LARGE', `at most ${MAX_BODY} bytes`);
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > MAX_BODY) throw new AdminError('BODY_TOO_LARGE', `at most ${MAX_BODY} bytes`);
      chunks.push(c);
    }
    return Buffer.concat(chunks);
  }

  private async jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json')
      throw new AdminError('UNSUPPORTED_MEDIA_TYPE', 'expected Content-Type: application/json');
    const text = (await this.readBody(req)).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw new AdminError('BAD_REQUEST', `the body is not JSON: ${(e as Error).message}`);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw new AdminError('BAD_REQUEST', 'expected a JSON object');
    return body as Record<string, unknown>;
  }

  private send(
    res: ServerResponse,
    status: number,
    type: string,
    body: string,
    head = false,
    extra: OutgoingHttpHeaders = {},
  ): void {
    const buf = Buffer.from(body, 'utf8');
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      ...extra,
      'Content-Type': type,
      'Content-Length': buf.length,
    });
    res.end(head ? undefined : buf);
  }

  private json(res: ServerResponse, status: number, value: unknown): void {
    this.send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
  }

  private redirect(res: ServerResponse, location: string): void {
    res.writeHead(303, { ...SECURITY_HEADERS, Location: location, 'Content-Length': 0 });
    res.end();
  }

  private fail(res: ServerResponse, e: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e instanceof AdminError || e instanceof ManagementError) {
      if (e instanceof AdminError && e.code === 'UNAUTHORIZED')
        res.setHeader('WWW-Authenticate', 'Bearer realm="cohort-proxy"');
      this.json(res, e.status, { error: { code: e.code, message: e.message } });
      return;
    }
    this.log.error({ err: (e as Error).message }, 'admin request failed');
    this.json(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
  }

  // ---- live page ----------------------------------------------------------------------------

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const p = new URL(req.url ?? '/', 'http://admin').pathname;
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (p !== `${this.path}/ws`) return refuse(404, 'Not Found');
    // A page of another site must not read the status through the visitor's browser.
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let host: string | undefined;
      try {
        host = new URL(origin).host;
      } catch {
        host = undefined;
      }
      if (host !== req.headers.host) return refuse(403, 'Forbidden');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onLive(ws));
  }

  private onLive(ws: WebSocket): void {
    ws.on('error', () => ws.terminate());
    // The page only listens; whatever it sends is ignored.
    ws.send(JSON.stringify(liveUpdate(this.proxy.status())));
    if (this.timer === undefined) this.timer = setInterval(() => this.push(), this.pushIntervalMs);
    ws.once('close', () => {
      if (this.wss.clients.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    });
  }

  /** Pushes soon after a change (several changes in a burst make one push). */
  private schedulePush(): void {
    if (this.pending !== undefined || this.wss.clients.size === 0) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.push();
    }, 10);
  }

  private push(): void {
    if (this.wss.clients.size === 0) return;
    const text = JSON.stringify(liveUpdate(this.proxy.status()));
    for (const c of this.wss.clients)
      if (c.readyState === c.OPEN && c.bufferedAmount < MAX_BUFFERED) c.send(text);
  }
}
