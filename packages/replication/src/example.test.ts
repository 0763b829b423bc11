// The README's example, run as a test so that it stays true.
import { expect, it } from 'vitest';
import { defaultValueCodec, readAttribute } from '@cohort/session-codec';
import {
  ReplicationEngine,
  decodeFrame,
  encodeFrame,
  placementOf,
  seededRandom,
  type EngineOutput,
  type OpResult,
} from './index.js';

it('README example: three engines, one quorum write, one read', () => {
  const members = ['node-a', 'node-b', 'node-c'];
  const engines = new Map(
    members.map((id, i) => [id, new ReplicationEngine({ self: id, random: seededRandom(i) })]),
  );
  const wire: Uint8Array[] = [];
  const results: OpResult[] = [];
  const handle = (out: EngineOutput): void => {
    for (const frame of out.frames) wire.push(encodeFrame(frame)); // a real host sends these
    results.push(...out.results);
  };
  const now = 1_000; // each node's monotonic clock, in ms
  for (const e of engines.values()) handle(e.setView(now, members));

  const key = 'Qm9vdHN0cmFwS2V5MTIzNA';
  const owner = placementOf(key, members, 3)[0]!;
  handle(
    engines.get(owner)!.submit(now, {
      id: 1,
      kind: 'write',
      key,
      level: 'quorum',
      create: { createdAt: Date.now(), maxInactiveSeconds: 1800 },
      ops: [{ op: 'set', name: 'cart', value: defaultValueCodec.encode(['sku-1'], 'cart') }],
    }),
  );
  while (wire.length > 0) {
    const frame = decodeFrame(wire.shift()!);
    handle(engines.get(frame.to)!.receive(now, frame));
  }
  handle(engines.get(owner)!.submit(now, { id: 2, kind: 'read', key }));

  const write = results.find((r) => r.id === 1)!;
  const read = results.find((r) => r.id === 2)!;
  expect(write.ok).toBe(true);
  expect(read.ok && readAttribute(read.session!, 'cart')).toEqual(['sku-1']);
  for (const id of members)
    expect(engines.get(id)!.inspect(key)!.version).toEqual(write.ok && write.version);
});
