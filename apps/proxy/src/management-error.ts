/** What a management request got wrong. */
export type ManagementErrorCode =
  | 'UNKNOWN_BALANCER'
  | 'UNKNOWN_MEMBER'
  | 'INVALID_STATE'
  | 'INVALID_WEIGHT'
  | 'INVALID_MEMBER'
  | 'DUPLICATE_ROUTE'
  | 'LAST_MEMBER';

/**
 * A refused management change (unknown balancer or member, a state or weight that means
 * nothing, a member that would not validate). `status` is the HTTP status the API answers.
 */
export class ManagementError extends Error {
  /** What was wrong. */
  readonly code: ManagementErrorCode;
  /** 404 for unknown names, 409 for conflicts, 400 otherwise. */
  readonly status: number;

  /** Builds the error. */
  constructor(code: ManagementErrorCode, message: string) {
    super(message);
    this.name = 'ManagementError';
    this.code = code;
    this.status =
      code === 'UNKNOWN_BALANCER' || code === 'UNKNOWN_MEMBER'
        ? 404
        : code === 'DUPLICATE_ROUTE' || code === 'LAST_MEMBER'
          ? 409
          : 400;
  }
}
