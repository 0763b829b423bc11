import { framedSize } from './wire.js';

/** Priority class of a queued broadcast: membership updates or user messages. */
export type BroadcastClass = 'member' | 'user';

interface Entry {
  subject: string;
  key: string;
  cls: BroadcastClass;
  bytes: Uint8Array;
  size: number;
  transmits: number;
  seq: number;
}

/**
 * Infection-style dissemination buffer: every update is piggybacked on outgoing packets until it
 * has been sent `limit` times, least-sent first (newest first among equals). A newer update about
 * the same subject replaces older ones. Each packet reserves a share of its budget for user
 * broadcasts, so membership traffic cannot starve them and vice versa.
 */
export class BroadcastQueue {
  private entries = new Map<string, Entry>();
  private seq = 0;
  private memberCount = 0;
  private userCount = 0;

  /**
   * Queue an encoded message. `key` identifies it (same key replaces); with `replaceSubject`
   * every other entry about the same subject is dropped first.
   */
  enqueue(
    subject: string,
    key: string,
    cls: BroadcastClass,
    bytes: Uint8Array,
    replaceSubject: boolean,
  ): void {
    if (replaceSubject) this.invalidate(subject);
    this.remove(key);
    const e: Entry = {
      subject,
      key,
      cls,
      bytes,
      size: framedSize(bytes),
      transmits: 0,
      seq: this.seq++,
    };
    this.entries.set(key, e);
    if (cls === 'member') this.memberCount++;
    else this.userCount++;
  }

  /** Drop every queued membership entry about `subject`. */
  invalidate(subject: string): void {
    for (const e of this.entries.values()) {
      if (e.subject === subject && e.cls === 'member') this.remove(e.key);
    }
  }

  /** Queued entries of a class (both classes when omitted). */
  pending(cls?: BroadcastClass): number {
    if (cls === 'member') return this.memberCount;
    if (cls === 'user') return this.userCount;
    return this.memberCount + this.userCount;
  }

  /**
   * Pick entries for one packet with `budget` bytes of room. Picked entries count one transmit;
   * entries reaching `limit` are dropped.
   */
  fill(budget: number, limit: number, userShare: number): Uint8Array[] {
    if (this.entries.size === 0 || budget <= 0) return [];
    const member: Entry[] = [];
    const user: Entry[] = [];
    for (const e of this.entries.values()) (e.cls === 'member' ? member : user).push(e);
    const order = (a: Entry, b: Entry): number => a.transmits - b.transmits || b.seq - a.seq;
    member.sort(order);
    user.sort(order);
    const picked: Entry[] = [];
    let left = budget;
    const take = (list: Entry[], room: number): number => {
      let used = 0;
      for (let i = 0; i < list.length; i++) {
        const e = list[i] as Entry;
        if (e.size <= room - used) {
          picked.push(e);
          used += e.size;
          list.splice(i, 1);
          i--;
        }
      }
      return used;
    };
    const reserve = user.length > 0 ? Math.floor(budget * userShare) : 0;
    left -= take(member, left - reserve);
    left -= take(user, left);
    take(member, left);
    const out: Uint8Array[] = [];
    for (const e of picked) {
      out.push(e.bytes);
      e.transmits++;
      if (e.transmits >= (e.cls === 'user' ? Math.max(limit, 1) : limit)) this.remove(e.key);
    }
    return out;
  }

  private remove(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    if (e.cls === 'member') this.memberCount--;
    else this.userCount--;
  }
}
