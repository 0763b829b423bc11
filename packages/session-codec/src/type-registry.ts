/**
 * How one application class is stored: its class, a stable name written on the wire, and the
 * two conversions to and from a storable value (null, boolean, number, bigint, string, bytes,
 * Date, arrays, plain objects, or other registered classes).
 *
 * @typeParam T - the application class
 */
export interface TypeCodec<T extends object> {
  /** The name written on the wire. Stable across deployments; 1–128 characters. */
  readonly name: string;
  /** The class. Only instances whose prototype is exactly `type.prototype` use this codec. */
  readonly type: abstract new (...args: never[]) => T;
  /** Turns an instance into a storable value. */
  readonly encode: (value: T) => unknown;
  /** Rebuilds an instance from the value `encode` returned (after a round trip). */
  readonly decode: (value: unknown) => T;
}

/** A type codec with its class erased, as held by the registry. */
export type AnyTypeCodec = TypeCodec<object>;

/**
 * The set of application classes a codec knows, looked up by prototype when encoding and by
 * name when decoding. Immutable: {@link TypeRegistry.with} returns a new registry.
 */
export class TypeRegistry {
  readonly #byPrototype: ReadonlyMap<object, AnyTypeCodec>;
  readonly #byName: ReadonlyMap<string, AnyTypeCodec>;

  /**
   * @param codecs - the codecs; names and classes must be unique
   * @throws TypeError on a duplicate or invalid name or class
   */
  constructor(codecs: readonly AnyTypeCodec[] = []) {
    const byPrototype = new Map<object, AnyTypeCodec>();
    const byName = new Map<string, AnyTypeCodec>();
    for (const codec of codecs) {
      if (typeof codec.name !== 'string' || codec.name.length < 1 || codec.name.length > 128) {
        throw new TypeError('a type codec name must be a string of 1 to 128 characters');
      }
      if (typeof codec.type !== 'function' || typeof codec.type.prototype !== 'object') {
        throw new TypeError(`type codec ${codec.name}: type must be a class`);
      }
      const proto = codec.type.prototype as object;
      if (proto === Object.prototype || proto === Array.prototype) {
        throw new TypeError(`type codec ${codec.name}: plain objects and arrays are built in`);
      }
      if (byName.has(codec.name)) throw new TypeError(`type codec ${codec.name} registered twice`);
      if (byPrototype.has(proto))
        throw new TypeError(`type codec ${codec.name}: class registered twice`);
      byName.set(codec.name, codec);
      byPrototype.set(proto, codec);
    }
    this.#byPrototype = byPrototype;
    this.#byName = byName;
  }

  /**
   * Returns a registry that also knows `codec`.
   *
   * @param codec - the codec to add
   */
  with<T extends object>(codec: TypeCodec<T>): TypeRegistry {
    return new TypeRegistry([...this.#byName.values(), codec as unknown as AnyTypeCodec]);
  }

  /** The codec for an object's exact prototype, if any. */
  forPrototype(proto: object | null): AnyTypeCodec | undefined {
    return proto === null ? undefined : this.#byPrototype.get(proto);
  }

  /** The codec registered under a wire name, if any. */
  forName(name: string): AnyTypeCodec | undefined {
    return this.#byName.get(name);
  }
}
