import { WebSocket } from 'ws';
import type { Logger } from 'pino';
import type { Slab } from './slab.js';
import { sendBatched } from './batched-send.js';
import { decodeFrame, encodeFrame, ReplicationError, type Frame } from '@cohort/replication';

/** The WebSocket path of node-to-node replication. */
export const REPLICATION_PATH = '/v1/replication';

/** Options of a {@link PeerLinks}. */
export interface PeerLinkOptions {
  /** This node's member id. */
  readonly self: string;
  /** Bearer token presented to other nodes. */
  readonly token: string | undefined;
  /** Where a member's endpoint is (its advertised base URL), or undefined when unknown. */
  readonly urlOf: (member: string) => string | undefined;
  /** Largest frame accepted from another node, in bytes. */
  readonly maxFrameBytes: number;
  /** Frames queued for a member while its connection opens, at most. */
  readonly maxQueued?: number;
  /** Where received frames are copied before decoding (their values are kept). */
  readonly slab: Slab;
  /** CA certificates for wss:// peers. */
  readonly ca?: Buffer;
  readonly log: Logger;
}

interface Link {
  readonly ws: WebSocket;
  readonly queue: Uint8Array[];
  open: boolean;
}

/**
 * Node-to-node replication over WebSocket: one outgoing connection per member for the frames
 * this node sends to it; frames from other members arrive on their own outgoing connections
 * (accepted by the node's server and given to {@link PeerLinks.accept}). A lost frame is
 * retransmitted by the engine, so a link that fails simply drops what it held.
 */
export class PeerLinks {
  readonly #o: PeerLinkOptions;
  readonly #links = new Map<string, Link>();
  readonly #incoming = new Set<WebSocket>();
  /** Frames sent, received, dropped (no link), refused (bad bytes). */
  readonly stats = { sent: 0, received: 0, dropped: 0, refused: 0, bytesOut: 0, bytesIn: 0 };
  #closed = false;

  /** @param options - identity, addressing and limits */
  constructor(options: PeerLinkOptions) {
    this.#o = options;
  }

  /** Members with an open outgoing link. */
  connected(): string[] {
    return [...this.#links].filter(([, l]) => l.open).map(([m]) => m);
  }

  /** Sends a frame to its `to` member, opening the link when needed. */
  send(frame: Frame): void {
    if (this.#closed) return;
    const bytes = encodeFrame(frame);
    let link = this.#links.get(frame.to);
    if (!link) {
      const created = this.#connect(frame.to);
      if (!created) {
        this.stats.dropped++;
        return;
      }
      link = created;
    }
    if (link.open) {
      sendBatched(link.ws, bytes);
      this.stats.sent++;
      this.stats.bytesOut += bytes.byteLength;
    } else if (link.queue.length < (this.#o.maxQueued ?? 1024)) link.queue.push(bytes);
    else this.stats.dropped++;
  }

  /** Opens links to these members ahead of traffic (readiness waits for them). */
  ensure(members: readonly string[]): void {
    for (const m of members) if (m !== this.#o.self && !this.#links.has(m)) this.#connect(m);
  }

  /** Closes links to members no longer in view. */
  prune(members: readonly string[]): void {
    const keep = new Set(members);
    for (const [m, l] of this.#links) {
      if (!keep.has(m)) {
        this.#links.delete(m);
        l.ws.terminate();
      }
    }
  }

  #connect(member: string): Link | undefined {
    const base = this.#o.urlOf(member);
    if (base === undefined) return undefined;
    const headers: Record<string, string> = { 'x-cohort-member': this.#o.self };
    if (this.#o.token !== undefined) headers.authorization = `Bearer ${this.#o.token}`;
    const ws = new WebSocket(`${base}${REPLICATION_PATH}`, {
      headers,
      perMessageDeflate: false,
      maxPayload: this.#o.maxFrameBytes,
      handshakeTimeout: 2000,
      ...(this.#o.ca ? { ca: this.#o.ca } : {}),
    });
    const link: Link = { ws, queue: [], open: false };
    this.#links.set(member, link);
    ws.on('open', () => {
      link.open = true;
      for (const b of link.queue) {
        ws.send(b);
        this.stats.sent++;
        this.stats.bytesOut += b.byteLength;
      }
      link.queue.length = 0;
    });
    // Outgoing links carry frames one way; anything the other end sends is ignored.
    ws.on('error', (err) => {
      this.#o.log.debug({ member, err: err.message }, 'replication link failed');
    });
    ws.on('close', () => {
      if (this.#links.get(member) === link) this.#links.delete(member);
      this.stats.dropped += link.queue.length;
    });
    return link;
  }

  /**
   * Takes an accepted incoming replication connection from `member`; its frames go to `deliver`.
   * A frame that does not decode closes the connection (1007, with the reason).
   */
  accept(ws: WebSocket, member: string, deliver: (frame: Frame) => void): void {
    this.#incoming.add(ws);
    ws.on('close', () => this.#incoming.delete(ws));
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        this.stats.refused++;
        ws.close(1003, 'binary frames only');
        return;
      }
      const bytes = data as Buffer;
      this.stats.received++;
      this.stats.bytesIn += bytes.byteLength;
      let frame: Frame;
      try {
        frame = decodeFrame(this.#o.slab.copy(bytes), { maxFrameBytes: this.#o.maxFrameBytes });
      } catch (err) {
        this.stats.refused++;
        const code = err instanceof ReplicationError ? err.code : 'MALFORMED';
        this.#o.log.warn({ member, code }, 'replication frame refused');
        ws.close(1007, `${code}: not a replication frame`.slice(0, 120));
        return;
      }
      if (frame.from !== member || frame.to !== this.#o.self) {
        // A frame for an earlier life of this node, or from a member that is not who it said.
        this.stats.dropped++;
        return;
      }
      deliver(frame);
    });
  }

  /** Closes every link. */
  close(): void {
    this.#closed = true;
    for (const l of this.#links.values()) l.ws.terminate();
    for (const ws of this.#incoming) ws.terminate();
    this.#links.clear();
  }
}
