/** One step into a value: an object key, a list index, or the inside of a custom type. */
export type PathSegment = string | number | { readonly type: string };

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Formats a path as an application developer would write it: `cart.items[3].price`,
 * `prefs["dark mode"]`, `order.total<Money>.amount`. The first segment is the attribute name, written as is.
 *
 * @param segments - attribute name first, then keys and indexes
 * @param length - how many of the segments make the path (all by default)
 */
export function formatPath(
  segments: readonly PathSegment[],
  length: number = segments.length,
): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    const s = segments[i];
    if (typeof s === 'number') out += `[${s}]`;
    else if (typeof s === 'object') out += `<${s.type}>`;
    else if (i === 0) out += s;
    else if (IDENTIFIER.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/**
 * Sets an own, enumerable data property, also for the key `__proto__` (a plain assignment
 * would change the object's prototype instead). Used everywhere objects are built from input.
 *
 * @param target - the object to write to
 * @param key - the property name, taken from input
 * @param value - the value
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}
