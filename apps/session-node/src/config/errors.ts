/** A configuration that cannot be used; the message names the key (`limits.maxAttributeBytes`). */
export class ConfigError extends Error {
  /** Always `ERR_CONFIG`. */
  readonly code = 'ERR_CONFIG';
  /** The offending key as a dotted path (empty for the file as a whole). */
  readonly key: string;

  /**
   * @param key - the dotted path of the bad key
   * @param message - what is wrong with it
   */
  constructor(key: string, message: string) {
    super(key === '' ? message : `${key}: ${message}`);
    this.name = 'ConfigError';
    this.key = key;
  }
}
