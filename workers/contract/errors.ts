/**
 * One error type for the whole house. `code` decides what the user sees (see
 * `userMessageFor`, an exhaustive switch) and whether a worker retries: non-retryable
 * errors become BullMQ UnrecoverableError in the job processor.
 */
export type ErrorCode =
  | 'config_invalid'
  | 'service_unavailable'
  | 'parse_failed'
  | 'app_not_found'
  | 'forbidden'
  | 'action_not_found'
  | 'action_expired'
  | 'action_already_decided'
  | 'same_person_approval'
  | 'image_not_found'
  | 'docker_unreachable'
  | 'rollout_unhealthy'
  | 'build_failed'
  | 'no_previous_deployment'
  | 'tenant_mismatch'
  | 'message_too_large'
  | 'invalid_request'
  | 'unknown_target'
  | 'internal';

export class HoistError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly userMessage: string;
  constructor(code: ErrorCode, userMessage: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(userMessage, { cause: opts.cause });
    this.name = 'HoistError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.userMessage = userMessage;
  }
}

export function isHoistError(e: unknown): e is HoistError {
  return e instanceof HoistError;
}

/** What a person reads in the thread: always a sentence, never a stack trace. */
export function userMessageFor(e: unknown): string {
  if (!isHoistError(e)) return 'Something went wrong inside Hoist; the error was logged and nothing was changed.';
  switch (e.code) {
    case 'config_invalid':
    case 'service_unavailable':
    case 'parse_failed':
    case 'app_not_found':
    case 'forbidden':
    case 'action_not_found':
    case 'action_expired':
    case 'action_already_decided':
    case 'same_person_approval':
    case 'image_not_found':
    case 'docker_unreachable':
    case 'rollout_unhealthy':
    case 'build_failed':
    case 'no_previous_deployment':
    case 'tenant_mismatch':
    case 'message_too_large':
    case 'invalid_request':
    case 'unknown_target':
      return e.userMessage;
    case 'internal':
      return `Internal error: ${e.userMessage}`;
    default: {
      const never: never = e.code;
      return String(never);
    }
  }
}

