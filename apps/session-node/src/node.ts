import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { createMember, type Member } from '@cohort/membership';
import type { EngineEvent, PlacementMap } from '@cohort/replication';
import { ClientConnection, CLIENT_PATH, CLOSE_CODES } from './client-connection.js';
import type { NodeConfig } from './config/schema.js';
import { EngineHost } from './engine-host.js';
import { createLogger } from './log.js';
import { NodeMetrics } from './metrics.js';
import { PeerLinks, REPLICATION_PATH } from './peers.js';
import { RequestHandler } from './requests.js';
import { Slab } from './slab.js';
import { renderStatus, type StatusData } from './status.js';

/** Options of a {@link SessionNode} besides its configuration. */
export interface SessionNodeOptions {
  /** A logger (default: pino at the configured level). */
  readonly logger?: Logger;
}

/** Counts of what the engine holds, by role. */
export interface OwnershipCounts {
  readonly owned: number;
  readonly replica: number;
  readonly claiming: number;
  readonly other: number;
  /** Records holding a live session. */
  readonly live: number;
}

function splitHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}

function tokenMatches(header: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  if (header === undefined) return false;
  const want = Buffer.from(`Bearer ${token}`);
  const got = Buffer.from(header);
  return got.length === want.length && timingSafeEqual(got, want);
}

function refuseUpgrade(socket: Duplex, status: number, text: string, reason: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(reason) + 1}\r\n\r\n${reason}\n`,
  );
  socket.destroy();
}

/**
 * cohort-session-node: a {@link ReplicationEngine} behind a WebSocket endpoint (clients on
 * `/v1/client`, other nodes on `/v1/replication`), with membership by @cohort/membership, a
 * status page, Prometheus metrics and health endpoints on the same port.
 */
export class SessionNode {
  /** The configuration in effect. */
  readonly config: NodeConfig;
  /** This node's member id, `name#boot` (new on every start). */
  readonly id: string;
  readonly log: Logger;
  readonly metrics: NodeMetrics;
  readonly host: EngineHost;
  readonly #server: Server;
  readonly #clientWss: WebSocketServer;
  readonly #peerWss: WebSocketServer;
  readonly #clients = new Set<ClientConnection>();
  readonly #subscribers = new Set<ClientConnection>();
  readonly #handler: RequestHandler;
  readonly #slab = new Slab();
  #peers: PeerLinks | undefined;
  #member: Member | undefined;
  #url = '';
  #view: string[] = [];
  #urls = new Map<string, string>();
  #drainingUrls = new Map<string, string>();
  #map: PlacementMap = { replicas: 0, nodes: [] };
  #state: 'new' | 'running' | 'draining' | 'stopped' = 'new';
  #startedAt = 0;
  #readyAt: number | undefined;
  #counts: { at: number; value: OwnershipCounts } | undefined;

  /**
   * @param config - a resolved configuration (see `loadNodeConfig`)
   * @param options - logger
   */
  constructor(config: NodeConfig, options: SessionNodeOptions = {}) {
    this.config = config;
    this.id = `${config.name ?? 'node'}#${randomBytes(4).toString('hex')}`;
    this.log = options.logger ?? createLogger(config.log.level);
    this.host = new EngineHost(
      this.id,
      {
        ...Object.fromEntries(Object.entries(config.engine).filter(([, v]) => v !== undefined)),
        replicas: config.replicas,
        minReplicas: Math.min(config.engine.minReplicas, config.replicas),
        opTimeoutMs: config.opTimeoutMs,
      },
      {
        send: (f) => this.#peers?.send(f),
        events: (e) => this.#onEvents(e),
      },
    );
    this.metrics = new NodeMetrics(() => this.#gauges());
    this.#handler = new RequestHandler({
      host: this.host,
      limits: config.limits,
      ack: config.ack,
      maxInactive: config.maxInactive,
      slab: this.#slab,
      map: () => this.#map,
    });
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.#http(req, res);
    this.#server = config.tls
      ? createHttpsServer(
          { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) },
          handler,
        )
      : createHttpServer(handler);
    // Frames up to twice the limit are read and refused with a reason (1009 "TOO_LARGE: ...");
    // larger ones are cut off by ws while they arrive (1009 without a reason text).
    this.#clientWss = new WebSocketServer({
      noServer: true,
      maxPayload: config.limits.maxFrameBytes * 2,
      perMessageDeflate: false,
    });
    this.#peerWss = new WebSocketServer({
      noServer: true,
      maxPayload: 64 * 1024 * 1024,
      perMessageDeflate: false,
    });
    this.#server.on('upgrade', (req, socket, head) => this.#upgrade(req, socket, head));
  }

  /** The base URL clients and nodes reach this node at (`ws://host:port`), once started. */
  get url(): string {
    return this.#url;
  }

  /** The gossip address (`host:port`), once started. */
  get gossipAddress(): string {
    return this.#member?.address ?? '';
  }

  /** The current placement map. */
  get map(): PlacementMap {
    return this.#map;
  }

  /**
   * Whether /readyz answers 200: running, in its own view with at least
   * min(replicas, minReplicas) members, and linked to enough others for a full replica set.
   */
  get ready(): boolean {
    if (this.#state !== 'running') return false;
    if (!this.#view.includes(this.id)) return false;
    if (this.#view.length < Math.min(this.config.replicas, this.config.engine.minReplicas)) {
      return false;
    }
    // Links to enough others to form a replica set. Not to every member in view: a member that
    // died and is not declared dead yet (a restarted node's former self, typically) would hold
    // readiness back for the whole suspicion timeout.
    const links = new Set(this.#peers?.connected() ?? []);
    const linked = this.#view.filter((m) => m !== this.id && links.has(m)).length;
    return linked >= Math.min(this.config.replicas, this.#view.length) - 1;
  }

  /** Starts listening and joins the cluster. */
  async start(): Promise<void> {
    const c = this.config;
    this.#startedAt = Date.now();
    const listen = splitHostPort(c.listen);
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(listen.port, listen.host, () => resolve());
    });
    const bound = this.#server.address() as AddressInfo;
    const scheme = c.tls ? 'wss' : 'ws';
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    this.#url = c.advertise ?? `${scheme}://${host}:${bound.port}`;
    this.#peers = new PeerLinks({
      self: this.id,
      token: c.auth.peerToken ?? c.auth.token,
      urlOf: (m) => this.#urls.get(m) ?? this.#drainingUrls.get(m),
      maxFrameBytes: 64 * 1024 * 1024,
      slab: this.#slab,
      log: this.log,
      ...(c.tls?.ca ? { ca: readFileSync(c.tls.ca) } : {}),
    });
    const gossip = splitHostPort(c.gossip.listen);
    this.#member = await createMember({
      name: this.id,
      bind: gossip,
      ...(c.gossip.advertise ? { advertise: c.gossip.advertise } : {}),
      seeds: c.seeds,
      metadata: { role: 'session-node', url: this.#url },
      preset: c.gossip.preset,
      config: { routableBatchMs: c.gossip.routableBatchMs },
      cluster: c.gossip.cluster,
      ...(c.gossip.keys ? { keys: c.gossip.keys } : {}),
      logger: this.log.child({ component: 'membership' }),
    });
    const refresh = (): void => this.#refreshView();
    this.#member.on('routable-change', refresh);
    this.#member.on('update', refresh);
    this.#member.on('join', refresh);
    this.#state = 'running';
    this.#refreshView();
    this.log.info(
      { member: this.id, url: this.#url, gossip: this.#member.address, seeds: c.seeds.length },
      'session node started',
    );
  }

  #refreshView(): void {
    const member = this.#member;
    if (!member || this.#state === 'stopped') return;
    const urls = new Map<string, string>();
    for (const m of member.members()) {
      const meta = m.metadata;
      // A draining node (SIGTERM) is left out of the view: the others take its sessions over.
      if (
        meta?.role === 'session-node' &&
        typeof meta.url === 'string' &&
        meta.state !== 'draining'
      ) {
        urls.set(m.name, meta.url);
      }
    }
    if (this.#state === 'running') urls.set(this.id, this.#url);
    // Links stay open to draining members until they are gone (they still answer claims).
    this.#drainingUrls = new Map();
    for (const m of member.members()) {
      const meta = m.metadata;
      if (
        !urls.has(m.name) &&
        m.status !== 'dead' &&
        m.status !== 'left' &&
        typeof meta?.url === 'string'
      ) {
        this.#drainingUrls.set(m.name, meta.url);
      }
    }
    this.#urls = urls;
    const routable = member
      .routable()
      .map((m) => m.name)
      .filter((n) => urls.has(n) && (this.#state === 'running' || n !== this.id))
      .sort();
    const changed = routable.join(' ') !== this.#view.join(' ');
    if (!changed) return;
    this.#view = routable;
    this.#map = {
      replicas: this.config.replicas,
      nodes: routable.map((id) => ({ id, url: `${urls.get(id)!}${CLIENT_PATH}` })),
    };
    this.#peers?.ensure(routable);
    this.#peers?.prune(routable);
    this.host.setView(routable);
    this.log.info({ members: routable.length, view: routable }, 'view changed');
    for (const c of this.#subscribers) c.send({ kind: 'map', id: 0, map: this.#map });
    this.#watchReady();
  }

  #watchReady(): void {
    if (this.#readyAt !== undefined) return;
    const check = (): void => {
      if (this.#readyAt !== undefined || this.#state !== 'running') return;
      if (this.ready) {
        this.#readyAt = Date.now();
        this.log.info({ afterMs: this.#readyAt - this.#startedAt }, 'ready');
      } else setTimeout(check, 20).unref();
    };
    check();
  }

  #onEvents(events: readonly EngineEvent[]): void {
    for (const e of events) this.metrics.events.inc({ type: e.type });
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const path = (req.url ?? '').split('?')[0];
    if (this.#state !== 'running') {
      refuseUpgrade(socket, 503, 'Service Unavailable', 'the node is not running');
      return;
    }
    if (path === CLIENT_PATH) {
      if (!tokenMatches(req.headers.authorization, this.config.auth.token)) {
        this.metrics.refused.inc({ reason: 'token' });
        this.log.warn(
          { remote: req.socket.remoteAddress },
          'client refused: wrong or missing token',
        );
        refuseUpgrade(socket, 401, 'Unauthorized', 'wrong or missing bearer token');
        return;
      }
      if (this.#clients.size >= this.config.limits.maxConnections) {
        this.metrics.refused.inc({ reason: 'connections' });
        refuseUpgrade(socket, 503, 'Service Unavailable', 'too many client connections');
        return;
      }
      const header = req.headers['x-cohort-client'];
      const clientId =
        typeof header === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(header)
          ? header
          : randomBytes(8).toString('hex');
      this.#clientWss.handleUpgrade(req, socket, head, (ws) => this.#acceptClient(ws, clientId));
      return;
    }
    if (path === REPLICATION_PATH) {
      const peerToken = this.config.auth.peerToken ?? this.config.auth.token;
      if (!tokenMatches(req.headers.authorization, peerToken)) {
        this.metrics.refused.inc({ reason: 'peer-token' });
        refuseUpgrade(socket, 401, 'Unauthorized', 'wrong or missing bearer token');
        return;
      }
      const member = req.headers['x-cohort-member'];
      if (typeof member !== 'string' || member === '') {
        refuseUpgrade(socket, 400, 'Bad Request', 'x-cohort-member header missing');
        return;
      }
      this.#peerWss.handleUpgrade(req, socket, head, (ws) =>
        this.#peers!.accept(ws, member, (f) => this.host.receive(f)),
      );
      return;
    }
    refuseUpgrade(socket, 404, 'Not Found', `no WebSocket endpoint at ${path}`);
  }

  #acceptClient(ws: WebSocket, clientId: string): void {
    const conn = new ClientConnection({
      ws,
      clientId,
      handler: this.#handler,
      metrics: this.metrics,
      log: this.log,
      maxFrameBytes: this.config.limits.maxFrameBytes,
      maxInFlight: this.config.limits.maxInFlight,
      node: this.id,
      map: () => this.#map,
      subscribe: (c, on) => {
        if (on) this.#subscribers.add(c);
        else this.#subscribers.delete(c);
      },
    });
    this.#clients.add(conn);
    ws.on('close', (code) => {
      this.#clients.delete(conn);
      if (code === 1009) this.metrics.refused.inc({ reason: 'TOO_LARGE' });
    });
  }

  /** Sessions by this node's role, computed at most once a second (a walk of every record). */
  counts(): OwnershipCounts {
    const now = Date.now();
    if (this.#counts && now - this.#counts.at < 1000) return this.#counts.value;
    let owned = 0;
    let replica = 0;
    let claiming = 0;
    let other = 0;
    let live = 0;
    const engine = this.host.engine;
    for (const k of engine.keys()) {
      const v = engine.inspect(k)!;
      if (v.session !== null) live++;
      if (v.role === 'owner') owned++;
      else if (v.role === 'replica') replica++;
      else if (v.role === 'claiming') claiming++;
      else other++;
    }
    const value = { owned, replica, claiming, other, live };
    this.#counts = { at: now, value };
    return value;
  }

  #gauges(): Record<string, number> {
    const c = this.counts();
    const s = this.#peers?.stats;
    return {
      members: this.#view.length,
      client_connections: this.#clients.size,
      peer_links: this.#peers?.connected().length ?? 0,
      sessions_owned: c.owned,
      sessions_replica: c.replica,
      records: c.owned + c.replica + c.claiming + c.other,
      pending_ops: this.host.pending,
      replication_frames_sent: s?.sent ?? 0,
      replication_bytes_sent: s?.bytesOut ?? 0,
      replication_frames_received: s?.received ?? 0,
      ready: this.ready ? 1 : 0,
    };
  }

  /** What the status page shows. */
  status(): StatusData {
    const mem = process.memoryUsage();
    const members = this.#member?.members() ?? [];
    return {
      id: this.id,
      url: this.#url,
      state: this.#state,
      ready: this.ready,
      uptimeMs: Date.now() - this.#startedAt,
      readyAfterMs: this.#readyAt === undefined ? undefined : this.#readyAt - this.#startedAt,
      replicas: this.config.replicas,
      view: this.#view,
      members: members.map((m) => ({
        name: m.name,
        address: m.address,
        status: m.status,
        routable: m.routable,
        linked: this.#peers?.connected().includes(m.name) ?? false,
      })),
      counts: this.counts(),
      pendingOps: this.host.pending,
      clients: this.#clients.size,
      replication: { ...(this.#peers?.stats ?? {}) },
      memory: {
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        external: mem.external,
        arrayBuffers: mem.arrayBuffers,
      },
    };
  }

  #http(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(405, 'text/plain', 'method not allowed\n');
      return;
    }
    switch (path) {
      case '/healthz':
        send(this.#state === 'stopped' ? 503 : 200, 'text/plain', `${this.#state}\n`);
        return;
      case '/readyz':
        send(this.ready ? 200 : 503, 'text/plain', this.ready ? 'ready\n' : 'not ready\n');
        return;
      case '/metrics':
        this.metrics.registry.metrics().then(
          (body) => send(200, this.metrics.registry.contentType, body),
          () => send(500, 'text/plain', 'metrics failed\n'),
        );
        return;
      case '/':
      case '/status':
        send(200, 'text/html; charset=utf-8', renderStatus(this.status()));
        return;
      case '/status.json':
        send(200, 'application/json', JSON.stringify(this.status()));
        return;
      default:
        send(404, 'text/plain', 'not found\n');
    }
  }

  /**
   * Hands this node's sessions to the others, then stops: leaves the routable view (its own
   * engine stops owning and nudges the new owners), leaves membership gracefully so the others
   * claim at once, waits until it owns nothing or `drainMs` passed, then closes.
   */
  async shutdown(): Promise<void> {
    if (this.#state !== 'running') return this.close();
    this.#state = 'draining';
    const started = Date.now();
    // Tell the others first (metadata): they drop this node from their views and claim its
    // sessions from the two other copies; this node answers NOT_OWNER meanwhile; then it leaves
    // membership.
    this.#member?.updateMetadata({ role: 'session-node', url: this.#url, state: 'draining' });
    this.#refreshView();
    // The others see the metadata within a few gossip rounds, drop this node from their views
    // after `routableBatchMs`, and claim its sessions on their next settle pass (500 ms) at up to
    // 2000 claims per second each. This node's records cannot tell when that is done (a claim
    // needs a majority of the old replica set, which the others are without this node), so it
    // waits that long, bounded by drainMs, and until its own pending writes are answered.
    const owned = this.counts().owned;
    const others = Math.max(1, this.#view.length);
    const needMs = 1000 + this.config.gossip.routableBatchMs + (owned / (2000 * others)) * 1000;
    const deadline = started + Math.min(needMs, this.config.drainMs);
    while (
      Date.now() < deadline ||
      (this.host.pending > 0 && Date.now() < started + this.config.drainMs)
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.#member?.leave(2000).catch(() => undefined);
    this.log.info({ afterMs: Date.now() - started, owned }, 'handed off');
    await this.close();
  }

  /** Stops at once (no hand-off): closes connections, membership and the listener. */
  async close(): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasDraining = this.#state === 'draining';
    this.#state = 'stopped';
    this.host.close();
    for (const c of this.#clients) c.close(CLOSE_CODES.goingAway, 'the node is stopping');
    this.#peers?.close();
    if (this.#member && !wasDraining) await this.#member.close().catch(() => undefined);
    this.#clientWss.close();
    this.#peerWss.close();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
