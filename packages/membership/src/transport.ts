import dgram from 'node:dgram';
import net from 'node:net';
import { MembershipError } from './errors.js';
import type { Keyring } from './keyring.js';

/** Counters of the UDP/TCP transport. */
export interface TransportStats {
  udpSent: number;
  udpReceived: number;
  udpSendErrors: number;
  tcpSent: number;
  tcpReceived: number;
  tcpErrors: number;
  decryptErrors: number;
  oversizedFrames: number;
}

/** Options of {@link UdpTcpTransport.open}. */
export interface TransportOptions {
  host: string;
  /** 0 picks a free port (the same number is used for UDP and TCP). */
  port: number;
  keyring?: Keyring;
  /** Largest accepted stream frame. */
  maxFrameBytes?: number;
  /** Connect/idle timeout of stream connections. */
  tcpTimeoutMs?: number;
  onPacket: (fromAddr: string, bytes: Uint8Array) => void;
  onFrame: (bytes: Uint8Array) => void;
  /** A frame could not be delivered; `refused` when the peer's host refused the connection. */
  onFrameFailed?: (to: string, refused: boolean) => void;
}

/** Split `host:port` (IPv6 in brackets). */
export function parseAddress(addr: string, field = 'address'): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:]+):(\d+)$/.exec(addr);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new MembershipError('ERR_CONFIG', `${field}: ${JSON.stringify(addr)} is not host:port`, {
      field,
      expected: 'host:port, e.g. 10.0.0.5:7946 or [::1]:7946',
    });
  }
  return { host: m[1] as string, port };
}

/** Format `host:port` (IPv6 in brackets). */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * UDP for probes and gossip, TCP for full syncs, fallback probes and large metadata, on the
 * same port number. Stream frames are one-shot: connect, write `[u32 length][frame]`, close.
 * With a keyring every datagram and frame is sealed; what fails to decrypt is counted and
 * dropped.
 */
export class UdpTcpTransport {
  readonly stats: TransportStats = {
    udpSent: 0,
    udpReceived: 0,
    udpSendErrors: 0,
    tcpSent: 0,
    tcpReceived: 0,
    tcpErrors: 0,
    decryptErrors: 0,
    oversizedFrames: 0,
  };
  private readonly sockets = new Set<net.Socket>();
  private closed = false;

  private constructor(
    private readonly udp: dgram.Socket,
    private readonly tcp: net.Server,
    private readonly opts: TransportOptions,
    /** Bound address, `host:port`. */
    readonly address: string,
  ) {}

  /** Bind UDP and TCP on the same port. */
  static async open(opts: TransportOptions): Promise<UdpTcpTransport> {
    const family = net.isIPv6(opts.host) ? 'udp6' : 'udp4';
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket({ type: family, reuseAddr: false });
      const port = await new Promise<number>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(opts.port, opts.host, () => {
          udp.off('error', reject);
          resolve(udp.address().port);
        });
      });
      const tcp = net.createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, opts.host, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        udp.close();
        // With port 0 the UDP port may be taken on TCP: pick another.
        if (opts.port === 0 && attempt < 20 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE')
          continue;
        throw err;
      }
      const t = new UdpTcpTransport(udp, tcp, opts, formatAddress(opts.host, port));
      t.wire();
      return t;
    }
  }

  /** Send one datagram. */
  sendPacket(to: string, bytes: Uint8Array): void {
    if (this.closed) return;
    let addr;
    try {
      addr = parseAddress(to);
    } catch {
      this.stats.udpSendErrors++;
      return;
    }
    const data = this.opts.keyring ? this.opts.keyring.encrypt(bytes) : bytes;
    this.stats.udpSent++;
    this.udp.send(data, addr.port, addr.host, (err) => {
      if (err) this.stats.udpSendErrors++;
    });
  }

  /** Send one stream frame on a fresh connection. */
  sendFrame(to: string, bytes: Uint8Array): void {
    if (this.closed) return;
    let addr;
    try {
      addr = parseAddress(to);
    } catch {
      this.stats.tcpErrors++;
      return;
    }
    const data = this.opts.keyring ? this.opts.keyring.encrypt(bytes) : bytes;
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length, 0);
    const s = net.connect({ host: addr.host, port: addr.port });
    this.track(s);
    s.setTimeout(this.opts.tcpTimeoutMs ?? 10_000, () => s.destroy());
    s.on('error', (err: NodeJS.ErrnoException) => {
      this.stats.tcpErrors++;
      this.opts.onFrameFailed?.(to, err.code === 'ECONNREFUSED');
    });
    s.end(Buffer.concat([head, data]));
    this.stats.tcpSent++;
  }

  /** Close both sockets and every open connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    await Promise.all([
      new Promise<void>((r) => this.udp.close(() => r())),
      new Promise<void>((r) => this.tcp.close(() => r())),
    ]);
  }

  private wire(): void {
    this.udp.on('message', (msg, rinfo) => {
      this.stats.udpReceived++;
      const plain = this.open(msg);
      if (plain) this.opts.onPacket(formatAddress(rinfo.address, rinfo.port), plain);
    });
    this.udp.on('error', () => this.stats.udpSendErrors++);
    this.tcp.on('connection', (s) => this.accept(s));
  }

  private accept(s: net.Socket): void {
    this.track(s);
    s.setTimeout(this.opts.tcpTimeoutMs ?? 10_000, () => s.destroy());
    s.on('error', () => this.stats.tcpErrors++);
    const max = this.opts.maxFrameBytes ?? 16 * 1024 * 1024;
    let buf: Buffer = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (len > max) {
          this.stats.oversizedFrames++;
          s.destroy();
          return;
        }
        if (buf.length < 4 + len) break;
        const frame = buf.subarray(4, 4 + len);
        buf = buf.subarray(4 + len);
        this.stats.tcpReceived++;
        const plain = this.open(frame);
        if (plain) this.opts.onFrame(plain);
      }
    });
  }

  private open(data: Uint8Array): Uint8Array | undefined {
    if (!this.opts.keyring) return data;
    try {
      return this.opts.keyring.decrypt(data);
    } catch {
      this.stats.decryptErrors++;
      return undefined;
    }
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
  }
}
