/**
 * Typed errors with machine-readable codes. Handlers map codes to HTTP statuses in one table
 * (handlers/errors.ts); lib code throws AppError and never knows about HTTP.
 */
const ERROR_CODES = [
  'INVALID_REQUEST', // body is not what the API expects (bad JSON, missing image, bad options)
  'INVALID_BASE64', // image field is not valid base64 / data URL
  'IMAGE_TOO_LARGE', // bytes or pixels over the configured limits
  'UNSUPPORTED_IMAGE', // not an image format we decode, or a corrupt file
  'IMAGE_TOO_SMALL', // a side below the minimum we can analyse, or the shorter one too small for the longer
  'NO_FACE', // decoded fine, no face found
  'TIMEOUT', // processing would exceed the time budget
  'MODEL_LOAD_FAILED', // weights missing or do not match their manifest
  'INTERNAL', // a bug: anything else
] as const;
type ErrorCode = (typeof ERROR_CODES)[number];

class AppError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable facts, e.g. the limit that was exceeded. */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options?.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Wraps anything thrown into an AppError; unknown errors become INTERNAL. */
function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError('INTERNAL', 'internal error', { cause: error });
}

export { AppError, toAppError, ERROR_CODES };
export type { ErrorCode };
