import type { Buffer } from 'node:buffer';
import { nameBytes, sameBytes } from './key-cache.js';
import { setOwn } from './path.js';

/** Most shapes remembered; a new one replaces the oldest. */
const SLOTS = 8;
/** A shape gets a factory from its second sighting on. */
const COMPILE_AFTER = 2;
/** Shapes with more names are built property by property. */
const MAX_NAMES = 128;

/** False once code generation turned out to be disallowed in this process. */
let compiling = true;

/** A list of names seen, with their UTF-8 bytes once it is compiled. */
export interface Shape {
  readonly names: readonly string[];
  /** The UTF-8 bytes of each name, once the shape has a factory. */
  bytes: readonly Uint8Array[] | undefined;
  seen: number;
  make: ((values: readonly unknown[]) => Record<string, unknown>) | undefined;
}

/**
 * Builds plain objects from a list of names and a list of values, fast for the shapes it sees
 * again. Storing properties one by one under names that come from input costs V8 a lookup and a
 * map transition per property (about as much as all of `JSON.parse`); an object literal with
 * constant keys is created in one step. So for a list of names seen before (the sessions of one
 * application mostly have the same attribute names), it compiles a factory returning such a
 * literal, as protobufjs compiles its decoders. Safety: names are written into the factory's
 * source only as `JSON.stringify` string literals, and a list containing `__proto__` (which a
 * literal would treat as the prototype) never gets a factory. At most {@link SLOTS} shapes are
 * kept. Where code generation is disallowed, every object is built property by property.
 */
export class ObjectShapes {
  readonly #shapes: Shape[] = [];
  #next = 0;

  /**
   * A new object whose own enumerable properties are `names[i]: values[i]`, in that order.
   *
   * @param names - distinct property names
   * @param values - one value per name
   */
  build(names: readonly string[], values: readonly unknown[]): Record<string, unknown> {
    const shape = this.#find(names);
    if (shape.make !== undefined) return shape.make(values);
    if (
      compiling &&
      ++shape.seen >= COMPILE_AFTER &&
      names.length <= MAX_NAMES &&
      !names.includes('__proto__')
    ) {
      const body = names.map((name, i) => `${JSON.stringify(name)}: v[${i}]`).join(',\n');
      try {
        shape.make = new Function('v', `'use strict';\nreturn {\n${body}\n};`) as Shape['make'];
        shape.bytes = names.map(nameBytes);
        return shape.make!(values);
      } catch {
        // Code generation is disallowed (--disallow-code-generation-from-strings, a CSP-like
        // policy): build every object property by property from now on.
        compiling = false;
      }
    }
    const out: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) setOwn(out, names[i], values[i]);
    return out;
  }

  /**
   * The compiled factory of the shape `names`, or undefined while it has none: it returns what
   * `build(names, values)` would, and stays right for these names after the shape is dropped.
   *
   * @param names - distinct property names
   */
  factoryOf(names: readonly string[]): Shape['make'] {
    return this.#find(names).make;
  }

  /**
   * The names of a remembered shape that has a factory and starts with `first`, or undefined: a
   * decoder compares the keys it reads with these, and when all match calls
   * {@link ObjectShapes.make} with the same array (no list of keys to build and compare).
   *
   * @param first - the first name read
   */
  compiledStartingWith(first: string): readonly string[] | undefined {
    const shapes = this.#shapes;
    for (let i = 0; i < shapes.length; i++) {
      const shape = shapes[i];
      if (shape.names[0] === first && shape.make !== undefined) return shape.names;
    }
    return undefined;
  }

  /**
   * A remembered shape that has a factory and whose first name is the bytes `buf[start, end)`,
   * or undefined: a decoder compares the keys it reads with its `bytes`, and when all match
   * calls {@link ObjectShapes.make} with its `names`.
   *
   * @param buf - the input
   * @param start - where the first name starts
   * @param end - where it ends
   */
  compiledStartingWithBytes(buf: Buffer, start: number, end: number): Shape | undefined {
    const shapes = this.#shapes;
    for (let i = 0; i < shapes.length; i++) {
      const shape = shapes[i];
      const bytes = shape.bytes;
      if (bytes !== undefined && bytes.length > 0 && sameBytes(bytes[0], buf, start, end)) {
        return shape;
      }
    }
    return undefined;
  }

  /**
   * Builds an object of a shape returned by {@link ObjectShapes.compiledStartingWith}: the same
   * as `build(names, values)`, without comparing the names again.
   *
   * @param names - the array {@link ObjectShapes.compiledStartingWith} returned
   * @param values - one value per name
   */
  make(names: readonly string[], values: readonly unknown[]): Record<string, unknown> {
    const shapes = this.#shapes;
    for (let i = 0; i < shapes.length; i++) {
      const shape = shapes[i];
      if (shape.names === names && shape.make !== undefined) return shape.make(values);
    }
    return this.build(names, values);
  }

  #find(names: readonly string[]): Shape {
    const n = names.length;
    for (const shape of this.#shapes) {
      const known = shape.names;
      if (known === names) return shape;
      if (known.length !== n) continue;
      let i = 0;
      while (i < n && known[i] === names[i]) i++;
      if (i === n) return shape;
    }
    const shape: Shape = { names: names.slice(), bytes: undefined, seen: 0, make: undefined };
    this.#shapes[this.#next] = shape;
    this.#next = (this.#next + 1) % SLOTS;
    return shape;
  }
}

/** The shapes of attribute objects built by this package's full-session decoder. */
export const sessionShapes: ObjectShapes = new ObjectShapes();

/** The shapes of objects inside attribute values, built by the same decoder. */
export const valueShapes: ObjectShapes = new ObjectShapes();
