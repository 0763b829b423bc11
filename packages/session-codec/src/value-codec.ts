import { SessionCodecError } from './errors.js';
import { resolveLimits, type Limits } from './limits.js';
import { TypeRegistry, type AnyTypeCodec } from './type-registry.js';
import { ValueDecoder } from './value-decoder.js';
import { ValueEncoder } from './value-encoder.js';

/** Options of a {@link ValueCodec}. */
export interface ValueCodecOptions {
  /** Limits to override; the rest keep {@link DEFAULT_LIMITS}. */
  readonly limits?: Partial<Limits>;
  /** Application classes with their codecs (a registry or a list). */
  readonly types?: TypeRegistry | readonly AnyTypeCodec[];
}

/**
 * Encodes and decodes attribute values: null, boolean, number, bigint, string, Uint8Array/Buffer,
 * Date, arrays and plain objects of these (nested), and instances of registered classes.
 * The bytes are the canonical protobuf encoding of the `Value` message in proto/session.proto,
 * so equal values give equal bytes and change detection can compare bytes.
 *
 * One codec can be shared by every session of a process; it is not safe to share across threads.
 */
export class ValueCodec {
  /** The limits in force. */
  readonly limits: Limits;
  /** The registered application classes. */
  readonly types: TypeRegistry;
  readonly #encoder: ValueEncoder;
  readonly #decoder: ValueDecoder;
  #decoding = false;

  /** @param options - limits and custom types */
  constructor(options: ValueCodecOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.types =
      options.types instanceof TypeRegistry ? options.types : new TypeRegistry(options.types ?? []);
    this.#encoder = new ValueEncoder(this.limits, this.types);
    this.#decoder = new ValueDecoder(this.limits, this.types);
  }

  /**
   * Validates and encodes a value.
   *
   * @param value - the value to store
   * @param name - the attribute name, the first segment of any error path
   * @returns the encoded bytes (a Buffer the caller owns)
   * @throws SessionCodecError naming the path and the problem, e.g.
   *   `cart.items[3].price: function is not serializable`
   */
  encode(value: unknown, name = 'value'): Uint8Array {
    // A custom type codec may itself call encode(): give it a fresh encoder.
    const encoder = this.#encoder.busy ? new ValueEncoder(this.limits, this.types) : this.#encoder;
    return encoder.encode(value, name);
  }

  /**
   * Decodes bytes written by {@link ValueCodec.encode}. Every call returns new objects.
   *
   * @param bytes - the encoded value
   * @param name - the attribute name, the first segment of any error path
   * @param baseOffset - where `bytes` starts in a larger input, for error offsets
   * @throws SessionCodecError on malformed bytes, a limit passed or an unknown custom type
   */
  decode(bytes: Uint8Array, name = 'value', baseOffset = 0): unknown {
    if (!(bytes instanceof Uint8Array)) {
      throw new SessionCodecError('INVALID_ARGUMENT', 'encoded value is not bytes', {
        path: name,
        expected: 'a Uint8Array',
      });
    }
    if (this.#decoding)
      return new ValueDecoder(this.limits, this.types).decode(bytes, name, baseOffset);
    this.#decoding = true;
    try {
      return this.#decoder.decode(bytes, name, baseOffset);
    } finally {
      this.#decoding = false;
    }
  }
}

/** The codec used when none is given: default limits, no custom types. */
export const defaultValueCodec: ValueCodec = new ValueCodec();
