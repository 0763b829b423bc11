// Where code generation from strings is disallowed (node --disallow-code-generation-from-strings,
// or an embedder's policy) `new Function` throws an EvalError. This file stands in for that policy
// by making the global Function constructor throw it (a file of its own: the fallback is
// remembered for the rest of the module's life), and checks decoding goes on without factories.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectShapes } from './object-shapes.js';
import { createSession } from './session.js';
import { decodeSessionValues } from './session-values.js';
import { encodeSession } from './wire.js';

describe('ObjectShapes where code generation is disallowed', () => {
  const original = globalThis.Function;
  beforeAll(() => {
    globalThis.Function = function () {
      throw new EvalError('Code generation from strings disallowed for this context');
    } as unknown as FunctionConstructor;
  });
  afterAll(() => {
    globalThis.Function = original;
  });

  it('builds every object property by property', () => {
    const shapes = new ObjectShapes();
    for (let i = 0; i < 4; i++) {
      expect(shapes.build(['a', 'b'], [1, i])).toEqual({ a: 1, b: i });
    }
    const bytes = encodeSession(
      createSession({
        key: 'k',
        now: 1,
        maxInactiveSeconds: 60,
        attributes: { user: { id: 7, name: 'ann' }, views: 2 },
      }),
    );
    for (let i = 0; i < 4; i++) {
      expect(decodeSessionValues(bytes).values).toEqual({ user: { id: 7, name: 'ann' }, views: 2 });
    }
  });
});
