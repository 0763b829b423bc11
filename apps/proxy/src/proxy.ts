import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type { AddressInfo, Server, Socket } from 'node:net';

import type { Logger } from 'pino';

import { decide } from './balancer/decide.js';
import type { MemberState } from './balancer/member-state.js';
import { recordFailure, type HealthEvent } from './balancer/health.js';
import type { FailurePhase } from './balancer/retry.js';
import type { ResolvedConfig } from './config/load.js';
import { Exchange, type ExchangeEnv, type ExchangeRecord } from './exchange.js';
import type { FrontRequestError } from './front/errors.js';
import type { FrontRequest } from './front/request.js';
import type { FrontResponse } from './front/response.js';
import { FrontServer } from './front/server.js';
import { readBodyStart, readSmallBody } from './http/body.js';
import { sendError, sendRawError } from './http/errors.js';
import { requestHeaders } from './http/headers.js';
import { Discovery } from './discovery.js';
import { HealthChecker } from './health/checker.js';
import { createLogger, safePath } from './log.js';
import type { MemberNotice, MemberTransport } from './members/transport.js';

/** Least time between two log lines of the same member's warning. */
const WARNING_INTERVAL_MS = 60_000;
import { ManagementError } from './management-error.js';
import {
  applyOverrides,
  noOverrides,
  parseStateChange,
  resolveAddedMember,
  type AddedMember,
  type Overrides,
} from './overrides.js';
import { createRequestIds } from './request-id.js';
import { buildStatus, type ProxyStatus } from './status.js';
import { buildRuntime, type BalancerRuntime, type MemberRuntime, type Runtime } from './runtime.js';

/** Options of {@link CohortProxy}. */
export interface ProxyOptions {
  /** The pino logger (default: JSON to stdout at the configured level). */
  readonly logger?: Logger;
  /** Clock for error periods and durations, ms (default `performance.now`). */
  readonly now?: () => number;
  /** Randomness for p2c (default `Math.random`). */
  readonly random?: () => number;
  /** Management changes to start with (read from the state file). */
  readonly overrides?: Overrides;
}

/** What {@link CohortProxy.events} emits. */
export interface ProxyEvents {
  /** A management change (state, weight, member added or removed) or a reload. */
  change: [what: { readonly kind: string; readonly balancer?: string; readonly route?: string }];
  /** A member's health changed: ejected, down, up. */
  health: [what: { readonly balancer: string; readonly route: string; readonly event: string }];
  /** A request finished (its access record); emitted only while someone listens (metrics). */
  request: [record: ExchangeRecord];
}

/** Counters of a running proxy. */
export interface ProxyStats {
  requests: number;
  inflight: number;
  errors: number;
  retries: number;
  failovers: number;
  upgrades: number;
}

/**
 * The reverse proxy: an HTTP/1.1 front end ({@link FrontServer}: strict parsing, the configured
 * limits and timeouts, answers written straight to the socket) in front of the balancers of a
 * configuration. `reload` swaps the
 * configuration for new requests while requests in flight finish on the old one; `close` drains.
 */
export class CohortProxy {
  /** The front-end server. */
  readonly front: FrontServer;
  /** The logger. */
  readonly log: Logger;
  /** Running counters. */
  readonly stats: ProxyStats = {
    requests: 0,
    inflight: 0,
    errors: 0,
    retries: 0,
    failovers: 0,
    upgrades: 0,
  };
  /** `change` and `health` events, for the live status page and the state file. */
  readonly events = new EventEmitter<ProxyEvents>();
  private runtime: Runtime;
  /** The configuration as loaded (the file), before the management overrides. */
  private base: ResolvedConfig;
  private overrides: Overrides;
  /** Members learned from the membership, per balancer (never persisted). */
  private discovered: Record<string, readonly AddedMember[]> = {};
  private discovery: Discovery | undefined;
  private readonly startedAt: number;
  /** Active health checks, started by `listen`. */
  private readonly checker: HealthChecker;
  private checking = false;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly nextId = createRequestIds();
  private closing = false;
  private readonly drainWaiters: (() => void)[] = [];
  /** Client sockets handed over to WebSocket tunnels (closed by `close`). */
  private readonly tunnels = new Set<Socket>();
  private readonly envs = new WeakMap<
    BalancerRuntime,
    { readonly cfg: ResolvedConfig; readonly env: ExchangeEnv }
  >();

  /** Builds the proxy (does not listen yet). */
  constructor(config: ResolvedConfig, options: ProxyOptions = {}) {
    this.log = options.logger ?? createLogger(config.log.level);
    this.now = options.now ?? (() => performance.now());
    this.random = options.random ?? Math.random;
    this.startedAt = this.now();
    this.base = config;
    this.overrides = options.overrides ?? noOverrides();
    this.runtime = buildRuntime(this.effectiveConfig()).runtime;
    this.checker = new HealthChecker(this.now, this.random, (b, m, e) =>
      this.onHealthEvent(b, m, e),
    );
    const l = config.limits;
    const t = config.timeouts;
    this.front = new FrontServer(
      {
        limits: {
          maxHeaderBytes: l.maxHeaderBytes,
          maxHeaders: l.maxHeaders,
          maxRequestLineBytes: l.maxRequestLineBytes,
        },
        timeouts: { headers: t.headers, idle: t.idle, request: t.request, send: t.send },
      },
      {
        onRequest: (req, res) => this.onRequest(req, res),
        onUpgrade: (req, socket, head) => this.onUpgrade(req, socket, head),
        onRefused: (err, socket) => this.onRefused(err, socket),
      },
    );
  }

  /** The listening socket server (for `address()`, or to hand to a test). */
  get server(): Server {
    return this.front.server;
  }

  /** The configuration in use. */
  get config(): ResolvedConfig {
    return this.runtime.config;
  }

  /** Starts listening on the configured address (or `port` / `host` given here). */
  async listen(
    port = this.config.listen.port,
    host = this.config.listen.host,
  ): Promise<AddressInfo> {
    this.checking = true;
    this.checker.update(this.runtime);
    const address = await this.front.listen(port, host);
    if (this.base.discovery !== undefined && this.discovery === undefined)
      this.discovery = await Discovery.start(this.base, this, this.log);
    return address;
  }

  /** The membership address of the discovery (`host:port`), when discovery runs. */
  get discoveryAddress(): string | undefined {
    return this.discovery?.address;
  }

  /**
   * Replaces the members discovered for `balancer` (called by the discovery; a member that is
   * gone from the list leaves the balancer, its requests in flight finishing).
   */
  setDiscoveredMembers(balancer: string, members: readonly AddedMember[]): void {
    const before = this.discovered[balancer] ?? [];
    const same =
      before.length === members.length &&
      before.every((m, i) => JSON.stringify(m) === JSON.stringify(members[i]));
    if (same) return;
    this.discovered[balancer] = members;
    this.rebuild();
    const was = new Set(before.map((m) => m.route));
    const now = new Set(members.map((m) => m.route));
    const added = [...now].filter((r) => !was.has(r));
    const removed = [...was].filter((r) => !now.has(r));
    this.log.info({ balancer, added, removed, members: now.size }, 'discovered members changed');
    this.events.emit('change', { kind: 'discovery', balancer });
  }

  /**
   * Uses a new configuration for new requests. Requests in flight finish on the members they
   * started on; transports of members that are gone are closed once idle. The listen address,
   * limits and front-end timeouts stay as they were at start (a restart changes them).
   */
  reload(config: ResolvedConfig): void {
    this.base = config;
    const retired = this.rebuild();
    this.log.level = config.log.level;
    this.log.info(
      { balancers: this.runtime.balancers.map((b) => b.name), retired: retired.length },
      'configuration reloaded',
    );
    this.discovery?.reconfigure(config);
    this.events.emit('change', { kind: 'reload' });
  }

  /** The file's configuration with the management overrides applied. */
  private effectiveConfig(): ResolvedConfig {
    try {
      const added = { ...this.overrides.added };
      for (const [b, list] of Object.entries(this.discovered))
        added[b] = [...(added[b] ?? []), ...list];
      return applyOverrides(this.base, { ...this.overrides, added });
    } catch (e) {
      // An added member the new file's rules refuse: keep the file's configuration.
      this.log.warn({ err: (e as Error).message }, 'management overrides not applied');
      return this.base;
    }
  }

  /** Rebuilds the runtime (members keep their state); returns the transports retired. */
  private rebuild(): MemberTransport[] {
    const { runtime, retired } = buildRuntime(this.effectiveConfig(), this.runtime);
    this.runtime = runtime;
    if (this.checking) this.checker.update(runtime);
    this.retire(retired);
    return retired;
  }

  /** A snapshot of every balancer and member (the status page, the API and the metrics read it). */
  status(): ProxyStatus {
    return buildStatus(this.runtime, this.stats, this.now(), this.startedAt, (b, route) => {
      if (this.overrides.added[b]?.some((m) => m.route === route)) return 'api';
      if (this.discovered[b]?.some((m) => m.route === route)) return 'discovery';
      return 'config';
    });
  }

  /** The management changes in force (what a state file keeps), as plain JSON. */
  get managementOverrides(): Overrides {
    return structuredClone(this.overrides);
  }

  private memberOf(balancer: string, route: string): MemberRuntime {
    const b = this.runtime.balancers.find((x) => x.name === balancer);
    if (b === undefined)
      throw new ManagementError('UNKNOWN_BALANCER', `no balancer named "${balancer}"`);
    const m = b.members.find((x) => x.config.route === route);
    if (m === undefined)
      throw new ManagementError(
        'UNKNOWN_MEMBER',
        `balancer "${balancer}" has no member "${route}"`,
      );
    return m;
  }

  /**
   * Sets a member's state and/or weight at run time (balancer-manager, jk_status, HAProxy
   * `set server`). `state` takes cohort's names, httpd flags (`D S N H R`, `E`/`-E` to put in
   * or take out of error, `I`/`-I` to ignore errors), mod_jk activations (`A D S`) and HAProxy's
   * `ready drain maint`. Kept across reloads; persisted by the state file.
   * @throws ManagementError naming what was wrong.
   */
  setMember(balancer: string, route: string, change: { state?: string; weight?: number }): void {
    const m = this.memberOf(balancer, route);
    const parsed = change.state === undefined ? undefined : parseStateChange(change.state);
    if (change.state !== undefined && parsed === undefined)
      throw new ManagementError('INVALID_STATE', `unknown state "${change.state}"`);
    const w = change.weight;
    if (w !== undefined && (typeof w !== 'number' || !(w > 0 && w <= 1000)))
      throw new ManagementError('INVALID_WEIGHT', 'weight must be a number above 0, at most 1000');
    const st = m.state;
    if (parsed?.kind === 'error')
      st.errorUntil = this.now() + this.config.balancers.find((b) => b.name === balancer)!.retry;
    else if (parsed?.kind === 'clear-error') {
      st.errorUntil = 0;
      st.consecutiveFailures = 0;
    } else if (parsed?.kind === 'ignore-errors') st.ignoreErrors = parsed.on;
    if (parsed?.kind === 'state' || w !== undefined) {
      const per = (this.overrides.members[balancer] ??= {});
      const o = (per[route] ??= {});
      if (parsed?.kind === 'state') o.state = parsed.state;
      if (w !== undefined) o.weight = w;
      this.rebuild();
    }
    this.log.info(
      { balancer, member: route, ...change },
      'member changed through the management API',
    );
    this.events.emit('change', { kind: 'member', balancer, route });
  }

  /**
   * Adds a member to a balancer at run time (the member keys of the configuration file,
   * `route` required and unique in the balancer).
   * @throws ManagementError when the balancer is unknown, the route taken or the member invalid.
   */
  addMember(balancer: string, member: AddedMember): void {
    const b = this.runtime.balancers.find((x) => x.name === balancer);
    if (b === undefined)
      throw new ManagementError('UNKNOWN_BALANCER', `no balancer named "${balancer}"`);
    if (typeof member?.route !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(member.route))
      throw new ManagementError(
        'INVALID_MEMBER',
        'route: expected letters, digits, "-", "_" or "."',
      );
    if (b.members.some((m) => m.config.route === member.route))
      throw new ManagementError(
        'DUPLICATE_ROUTE',
        `balancer "${balancer}" already has "${member.route}"`,
      );
    try {
      resolveAddedMember(member);
    } catch (e) {
      const issues = (e as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
      throw new ManagementError(
        'INVALID_MEMBER',
        issues?.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') ?? (e as Error).message,
      );
    }
    const list = (this.overrides.added[balancer] ??= []);
    list.push({ source: 'api', ...member });
    const removed = this.overrides.removed[balancer];
    if (removed !== undefined)
      this.overrides.removed[balancer] = removed.filter((r) => r !== member.route);
    this.rebuild();
    this.log.info({ balancer, member: member.route, url: member.url }, 'member added');
    this.events.emit('change', { kind: 'added', balancer, route: member.route });
  }

  /**
   * Removes a member from a balancer at run time; its requests in flight finish, its pool
   * closes once idle.
   * @throws ManagementError for unknown names, or when it is the balancer's last member.
   */
  removeMember(balancer: string, route: string): void {
    this.memberOf(balancer, route);
    const b = this.runtime.balancers.find((x) => x.name === balancer)!;
    if (b.members.length === 1)
      throw new ManagementError('LAST_MEMBER', `"${route}" is the last member of "${balancer}"`);
    const added = this.overrides.added[balancer];
    if (added?.some((m) => m.route === route))
      this.overrides.added[balancer] = added.filter((m) => m.route !== route);
    if (
      this.base.balancers.find((x) => x.name === balancer)?.members.some((m) => m.route === route)
    )
      (this.overrides.removed[balancer] ??= []).push(route);
    delete this.overrides.members[balancer]?.[route];
    this.rebuild();
    this.log.info({ balancer, member: route }, 'member removed');
    this.events.emit('change', { kind: 'removed', balancer, route });
  }

  private retire(transports: MemberTransport[]): void {
    for (const tr of transports) {
      tr.close().catch((e: Error) =>
        this.log.warn({ err: e.message }, 'closing a removed member failed'),
      );
    }
  }

  /**
   * Stops accepting connections, lets requests in flight finish (at most `drainMs`, default the
   * configured `timeouts.drain`), then closes every connection and member pool.
   */
  async close(drainMs = this.config.timeouts.drain): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.checker.close();
    const left = this.discovery
      ?.close()
      .catch((e: Error) => this.log.warn({ err: e.message }, 'leaving the membership failed'));
    const closed = this.front.close();
    const drained =
      this.stats.inflight === 0
        ? Promise.resolve()
        : new Promise<void>((r) => this.drainWaiters.push(r));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise<void>((r) => (timer = setTimeout(r, drainMs)))]);
    clearTimeout(timer);
    this.front.closeAllConnections();
    for (const s of this.tunnels) s.destroy();
    await closed;
    await left;
    await Promise.allSettled(
      this.runtime.balancers.flatMap((b) => b.members.map((m) => m.transport.destroy())),
    );
  }

  private onDone = (r: ExchangeRecord): void => {
    const s = this.stats;
    s.inflight--;
    if (r.retries > 0) s.retries += r.retries;
    if (r.failover) s.failovers++;
    if (r.status >= 500) s.errors++;
    if (s.inflight === 0 && this.drainWaiters.length > 0)
      for (const w of this.drainWaiters.splice(0)) w();
    if (this.events.listenerCount('request') > 0) this.events.emit('request', r);
    if (!this.runtime.config.log.access) return;
    const rec = {
      reqId: r.requestId,
      balancer: r.balancer,
      method: r.method,
      path: safePath(r.target),
      status: r.status,
      bytes: r.bytes,
      ms: Math.round(r.ms * 100) / 100,
      member: r.member,
      route: r.route,
      sticky: r.sticky,
      failover: r.failover,
      retries: r.retries,
    };
    if (r.outcome === 'ok') this.log.info(rec, 'request');
    else this.log.warn({ ...rec, outcome: r.outcome, error: r.error }, 'request failed');
  };

  private onMemberError = (
    b: BalancerRuntime,
    m: MemberRuntime,
    err: Error,
    phase: FailurePhase,
    requestId: string,
    marked: boolean,
  ): void => {
    this.log.warn(
      {
        reqId: requestId,
        balancer: b.name,
        member: m.config.route,
        phase,
        code: (err as NodeJS.ErrnoException).code,
        err: err.message,
      },
      marked ? 'member failed; marked in error' : 'member failed',
    );
  };

  /**
   * A member refused the AJP secret: the client saw Tomcat's 403 as if from the application, so
   * the operator hears of it — the first time at once, then at most once a minute per member —
   * and the member's state says it until a good answer clears it.
   */
  private onMemberNotice = (b: BalancerRuntime, m: MemberRuntime, notice: MemberNotice): void => {
    const st = m.state;
    const now = this.now();
    st.warning =
      notice === 'auth-refused'
        ? m.config.secret === undefined
          ? 'the member requires an AJP secret and none is configured (Tomcat answers 403)'
          : 'the member refused the AJP secret (Tomcat answers 403): check `secret` against the connector'
        : notice;
    if (now - st.warnedAt < WARNING_INTERVAL_MS) return;
    st.warnedAt = now;
    this.log.warn(
      { balancer: b.name, member: m.config.route, code: 'AJP_SECRET_REFUSED' },
      st.warning,
    );
  };

  /** A member's health changed: logged, and told to status listeners. */
  private onHealthEvent = (b: BalancerRuntime, m: MemberRuntime, event: HealthEvent): void => {
    if (event === undefined) return;
    this.events.emit('health', { balancer: b.name, route: m.config.route, event });
    const st = m.state;
    this.log.warn(
      {
        balancer: b.name,
        member: m.config.route,
        event,
        until: event === 'ejected' ? Math.round(st.errorUntil - this.now()) : undefined,
        reason: event === 'up' ? undefined : st.lastError?.message,
      },
      event === 'ejected' ? 'member ejected' : `member ${event}`,
    );
  };

  private onRequest(req: FrontRequest, res: FrontResponse): void {
    const rt = this.runtime;
    const cfg = rt.config;
    const id = this.nextId();
    const ridHeader = 'X-Request-Id';
    this.stats.requests++;
    const early = (status: number, detail: string): void => {
      this.stats.errors++;
      // An unread body closes the connection after this answer (the front end adds the header).
      sendError(res, status, id, ridHeader, detail);
      this.log.warn({ reqId: id, method: req.method, path: safePath(req.url), status }, detail);
    };
    const url = req.url;
    const cl = req.contentLength;
    if (cl > cfg.limits.maxBodyBytes)
      return early(413, `request body larger than ${cfg.limits.maxBodyBytes} bytes`);
    // `OPTIONS *` asks about the server as a whole: the balancer of the host's root answers it.
    const b = rt.route(req.host, url === '*' ? '/' : url);
    if (!b) return early(404, 'no balancer serves this host and path');
    // `Expect: 100-continue`: the client waits for this before sending its body; it is sent only
    // once the request passed the checks above, so a refused upload is never transmitted.
    if (req.expectContinue) res.writeContinue();

    const routes = b.readRoutes(url, req.cookie);
    const hashKey = this.hashKeyOf(b, req);
    const clientOrigin = `http://${req.host ?? `${req.localAddress}:${req.localPort}`}`;
    this.stats.inflight++;
    const env = this.envOf(b, cfg);
    // A small declared body is read whole first, so that it can be replayed on a retry; a larger
    // or chunked one streams.
    const buffered = req.hasBody && cl >= 0 && cl <= b.config.retryBodyCap;
    const ex = new Exchange(
      env,
      b,
      req,
      res,
      id,
      routes.owner,
      routes.pin,
      hashKey,
      req.hasBody && !buffered ? 'stream' : null,
      clientOrigin,
    );
    if (!req.hasBody) {
      ex.attempt();
      return;
    }
    if (!buffered) {
      // No member connection is taken before the body's first bytes arrive: a client that sends
      // a head and then nothing holds nothing but its own socket.
      void readBodyStart(req).then((start) => {
        if (start === undefined) {
          ex.reply(400, 'the request body could not be read', undefined, true);
          return;
        }
        if (start.chunk.length > cfg.limits.maxBodyBytes) {
          ex.reply(
            413,
            `request body larger than ${cfg.limits.maxBodyBytes} bytes`,
            undefined,
            true,
          );
          return;
        }
        ex.startStreaming(start);
      });
      return;
    }
    void readSmallBody(req, cl).then((buf) => {
      if (buf === undefined) {
        ex.reply(400, 'the request body ended before its Content-Length', undefined, true);
        return;
      }
      ex.startWith(buf);
    });
  }

  /** The exchange environment of a balancer (one object per balancer and configuration). */
  private envOf(b: BalancerRuntime, cfg: ResolvedConfig): ExchangeEnv {
    const cached = this.envs.get(b);
    if (cached !== undefined && cached.cfg === cfg) return cached.env;
    const env: ExchangeEnv = {
      now: this.now,
      random: this.random,
      requestIdHeader: b.config.headers.requestId,
      maxBodyBytes: cfg.limits.maxBodyBytes,
      onDone: this.onDone,
      onMemberError: this.onMemberError,
      onMemberNotice: this.onMemberNotice,
      onHealthEvent: this.onHealthEvent,
    };
    this.envs.set(b, { cfg, env });
    return env;
  }

  private hashKeyOf(b: BalancerRuntime, req: FrontRequest): string | undefined {
    if (b.config.method !== 'hash') return undefined;
    const k = b.config.hashKey;
    const source = k?.source ?? 'client';
    if (source === 'client') return req.remoteAddress;
    if (source === 'header') return req.header(k!.name!.toLowerCase());
    const cookie = req.cookie;
    if (!cookie) return undefined;
    const name = k!.name! + '=';
    for (const part of cookie.split(';')) {
      const p = part.trim();
      if (p.startsWith(name)) return p.slice(name.length);
    }
    return undefined;
  }

  private onRefused(err: FrontRequestError, socket: Socket): void {
    const id = this.nextId();
    this.stats.requests++;
    this.stats.errors++;
    this.log.warn({ reqId: id, code: err.code, status: err.status }, err.message);
    sendRawError(socket, err.status, id, 'X-Request-Id', err.message);
  }

  private onUpgrade(req: FrontRequest, socket: Socket, head: Buffer): void {
    const rt = this.runtime;
    const id = this.nextId();
    this.stats.requests++;
    socket.on('error', () => socket.destroy());
    this.tunnels.add(socket);
    socket.once('close', () => this.tunnels.delete(socket));
    const b = rt.route(req.host, req.url);
    if (!b || (req.header('upgrade') ?? '').toLowerCase() !== 'websocket' || req.method !== 'GET') {
      sendRawError(
        socket,
        b ? 400 : 404,
        id,
        'X-Request-Id',
        b
          ? 'only WebSocket upgrades of GET requests are proxied'
          : 'no balancer serves this host and path',
      );
      return;
    }
    const routes = b.readRoutes(req.url, req.cookie);
    const tried = new Set<MemberState>();
    const started = this.now();
    const attempt = (): void => {
      const d = decide(b.view, {
        owner: routes.owner,
        pin: routes.pin,
        now: this.now(),
        random: this.random,
        tried,
        hashKey: this.hashKeyOf(b, req),
      });
      if (!d.member) {
        sendRawError(
          socket,
          503,
          id,
          'X-Request-Id',
          'no member of this balancer can take the request',
        );
        return;
      }
      const m = b.byState.get(d.member)!;
      if (!m.transport.upgrade) {
        this.log.warn(
          { reqId: id, balancer: b.name, member: m.config.route },
          'WebSocket upgrade routed to an AJP member',
        );
        sendRawError(
          socket,
          501,
          id,
          'X-Request-Id',
          'this session lives on an AJP member, and AJP cannot carry WebSocket',
        );
        return;
      }
      tried.add(d.member);
      const h = b.config.headers;
      const headers = requestHeaders(req.rawHeaders, {
        clientIp: req.remoteAddress,
        proto: 'http',
        host: req.host,
        localPort: req.localPort,
        memberHost: m.hostPort,
        requestId: id,
        requestIdHeader: h.requestId,
        preserveHost: h.preserveHost,
        xForwarded: h.xForwarded,
        forwarded: h.forwarded,
        via: h.via,
        dropUnderscores: h.underscores === 'drop',
      });
      let relayed = false;
      m.state.inflight++;
      const abort = m.transport.upgrade(
        {
          method: 'GET',
          path: req.url,
          headers,
          body: null,
          clientIp: req.remoteAddress,
          clientPort: req.remotePort,
          localIp: req.localAddress,
          localPort: req.localPort,
          host: req.host,
        },
        {
          onUpgrade: (status, raw, memberSocket) => {
            let text = `HTTP/1.1 ${status} Switching Protocols\r\n`;
            for (let i = 0; i < raw.length; i += 2) {
              const n = raw[i]!.toLowerCase();
              if (n === 'keep-alive' || n === 'transfer-encoding') continue;
              text += `${raw[i]}: ${raw[i + 1]}\r\n`;
            }
            socket.write(text + '\r\n');
            if (head.length > 0) memberSocket.write(head);
            this.stats.upgrades++;
            const end = () => {
              m.state.inflight--;
              memberSocket.destroy();
              socket.destroy();
            };
            let ended = false;
            const once = () => {
              if (!ended) {
                ended = true;
                end();
              }
            };
            memberSocket.on('error', once).on('close', once);
            socket.on('close', once);
            socket.pipe(memberSocket);
            memberSocket.pipe(socket);
            this.log.info(
              {
                reqId: id,
                balancer: b.name,
                member: m.config.route,
                status: 101,
                route: routes.owner,
                ms: this.now() - started,
              },
              'websocket',
            );
          },
          onResponse: (status, statusText, raw) => {
            relayed = true;
            let text = `HTTP/1.1 ${status} ${statusText || STATUS_CODES[status] || ''}\r\n`;
            for (let i = 0; i < raw.length; i += 2) {
              const n = raw[i]!.toLowerCase();
              if (
                n === 'connection' ||
                n === 'keep-alive' ||
                n === 'transfer-encoding' ||
                n === 'content-length'
              )
                continue;
              text += `${raw[i]}: ${raw[i + 1]}\r\n`;
            }
            socket.write(text + 'Connection: close\r\n\r\n');
            return true;
          },
          onData: (chunk) => socket.write(chunk),
          onEnd: () => {
            m.state.inflight--;
            socket.end();
          },
          onError: (err, phase) => {
            m.state.inflight--;
            const connect = phase === 'connect';
            const event = recordFailure(
              m.state,
              phase,
              err.message,
              this.now(),
              b.view.members,
              b.outlier,
            );
            this.onMemberError(b, m, err, phase, id, event === 'ejected');
            if (connect && tried.size < b.config.maxAttempts) return attempt();
            if (relayed) socket.destroy();
            else
              sendRawError(
                socket,
                phase === 'timeout' ? 504 : 502,
                id,
                'X-Request-Id',
                'the member failed the WebSocket handshake',
              );
          },
        },
      );
      socket.once('close', () => abort());
    };
    attempt();
  }
}
