import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ScenarioError } from '../errors.js';
import { parseStudyAnswer } from './client.js';
import { parseControlAnswer } from './tomcat-pages.js';
import {
  attributesToWrite,
  attributeValue,
  CI_LOAD,
  FULL_LOAD,
  loadFromEnv,
  SHAPES,
} from './workload.js';

function onlyTyped(code: string, f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    expect((e as ScenarioError).code).toBe(code);
  }
}

describe('parseStudyAnswer', () => {
  it('reads the line both study pages answer', () => {
    expect(parseStudyAnswer('ok node=tc1 new=false wrote=1\n')).toEqual({
      node: 'tc1',
      fresh: false,
      wrote: 1,
    });
    expect(parseStudyAnswer('ok node=app2 new=true wrote=100')).toEqual({
      node: 'app2',
      fresh: true,
      wrote: 100,
    });
  });
  it.each(['', 'ok', 'ok node= new=true wrote=1', 'ok node=a new=yes wrote=1', '<html>500</html>'])(
    'refuses %j with BAD_RESPONSE',
    (body) =>
      expect(() => parseStudyAnswer(body)).toThrow(
        expect.objectContaining({ code: 'BAD_RESPONSE' }),
      ),
  );
  it('fuzz: random and mutated bodies give an answer or BAD_RESPONSE', () => {
    const good = 'ok node=tc1 new=false wrote=1\n';
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) =>
        onlyTyped('BAD_RESPONSE', () => parseStudyAnswer(s)),
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.nat(good.length), fc.string({ maxLength: 3 }), (at, ins) =>
        onlyTyped('BAD_RESPONSE', () =>
          parseStudyAnswer(good.slice(0, at) + ins + good.slice(at + 1)),
        ),
      ),
      { numRuns: 2000 },
    );
  });
});

describe('parseControlAnswer', () => {
  const good =
    '{"valve":true,"cluster":true,"channelSendOptions":8,"filterAll":false,"nrOfRequests":46,"totalRequestTime":15,"totalSendTime":0,"nrOfSendRequests":45,"nrOfFilterRequests":0}\n';
  it("reads control.jsp's JSON", () => {
    expect(parseControlAnswer(good)).toMatchObject({
      valve: true,
      channelSendOptions: 8,
      filterAll: false,
      totalRequestTime: 15,
    });
    expect(parseControlAnswer('{"valve":false,"cluster":false}')).toEqual({
      valve: false,
      cluster: false,
    });
  });
  it.each([
    '',
    '[]',
    'null',
    '{"valve":1,"cluster":true}',
    '{"valve":true,"cluster":true,"totalSendTime":-1}',
    '{"valve":true,"cluster":true,"filterAll":"x"}',
  ])('refuses %j with BAD_CONTROL_RESPONSE', (body) =>
    expect(() => parseControlAnswer(body)).toThrow(
      expect.objectContaining({ code: 'BAD_CONTROL_RESPONSE' }),
    ),
  );
  it('fuzz: random JSON values and mutated answers give an answer or BAD_CONTROL_RESPONSE', () => {
    fc.assert(
      fc.property(fc.json(), (s) => onlyTyped('BAD_CONTROL_RESPONSE', () => parseControlAnswer(s))),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.nat(good.length), fc.string({ maxLength: 3 }), fc.nat(3), (at, ins, del) =>
        onlyTyped('BAD_CONTROL_RESPONSE', () =>
          parseControlAnswer(good.slice(0, at) + ins + good.slice(at + del)),
        ),
      ),
      { numRuns: 2000 },
    );
  });
});

describe('workload', () => {
  it('makes values of exactly the attribute size that differ from one request to the next', () => {
    for (const { bytes } of Object.values(SHAPES)) {
      expect(attributeValue(7, 3, bytes)).toHaveLength(bytes);
      expect(attributeValue(7, 3, bytes)).not.toBe(attributeValue(8, 3, bytes));
    }
  });
  it('writes every attribute for a new session or in full mode, one in turn in delta mode', () => {
    expect(attributesToWrite(SHAPES.small, 'delta', 5, true)).toHaveLength(100);
    expect(attributesToWrite(SHAPES.small, 'full', 5, false)).toHaveLength(100);
    expect(attributesToWrite(SHAPES.small, 'delta', 105, false)).toEqual([5]);
    expect(attributesToWrite(SHAPES.large, 'delta', 105, false)).toEqual([0]);
  });
  it('reads the load from the environment', () => {
    expect(loadFromEnv({})).toEqual(CI_LOAD);
    expect(loadFromEnv({ STUDY_FULL: '1' })).toEqual(FULL_LOAD);
    expect(
      loadFromEnv({ STUDY_FULL: '1', STUDY_REQUESTS: '10', STUDY_DELAY_MS: '0' }),
    ).toMatchObject({
      threads: 2,
      requests: 10,
      delayMs: 0,
    });
    for (const bad of [
      { STUDY_REQUESTS: '0' },
      { STUDY_DELAY_MS: '-1' },
      { STUDY_THREADS: '1.5' },
      { STUDY_WARMUP: 'x' },
    ]) {
      expect(() => loadFromEnv(bad)).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
    }
  });
});
