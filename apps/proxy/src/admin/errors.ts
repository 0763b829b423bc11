/** What an admin request got wrong (besides the management errors of the proxy itself). */
export type AdminErrorCode =
  /** No `Authorization: Bearer` token, or not the configured one (401). */
  | 'UNAUTHORIZED'
  /** No token is configured: the admin listener is read-only (403). */
  | 'CHANGES_DISABLED'
  /** A WebSocket or form from another origin (403). */
  | 'FORBIDDEN_ORIGIN'
  /** No such page or endpoint (404). */
  | 'NOT_FOUND'
  /** The endpoint exists but not with this method (405). */
  | 'METHOD_NOT_ALLOWED'
  /** A body over 64 KiB (413). */
  | 'BODY_TOO_LARGE'
  /** A body that is not the JSON object or form expected (400). */
  | 'BAD_REQUEST'
  /** A body of another media type than JSON (API) or a form (page) (415). */
  | 'UNSUPPORTED_MEDIA_TYPE';

const STATUS: Readonly<Record<AdminErrorCode, number>> = {
  UNAUTHORIZED: 401,
  CHANGES_DISABLED: 403,
  FORBIDDEN_ORIGIN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  BODY_TOO_LARGE: 413,
  BAD_REQUEST: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
};

/** A refused admin request; the API answers it as `{ error: { code, message } }` with `status`. */
export class AdminError extends Error {
  /** What was wrong. */
  readonly code: AdminErrorCode;
  /** The HTTP status answered. */
  readonly status: number;

  /** Builds the error. */
  constructor(code: AdminErrorCode, message: string) {
    super(message);
    this.name = 'AdminError';
    this.code = code;
    this.status = STATUS[code];
  }
}
