/** The one table from error code to HTTP status, and the error body every adapter returns. */
import { toAppError } from '../lib/errors.js';
import type { AppError, ErrorCode } from '../lib/errors.js';

const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_REQUEST: 400,
  INVALID_BASE64: 400,
  IMAGE_TOO_LARGE: 413,
  UNSUPPORTED_IMAGE: 415,
  IMAGE_TOO_SMALL: 422,
  NO_FACE: 422,
  TIMEOUT: 504,
  MODEL_LOAD_FAILED: 503,
  INTERNAL: 500,
};

interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

function errorResponse(error: unknown): { status: number; body: ErrorBody; appError: AppError } {
  const appError = toAppError(error);
  return { status: HTTP_STATUS[appError.code], body: { error: appError.toJSON() }, appError };
}

export { HTTP_STATUS, errorResponse };
export type { ErrorBody };
