/** Stable codes of the JSON errors the HTTP API answers with. */
export type HttpErrorCode =
  | 'BAD_PARAMETER'
  | 'BAD_BODY'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'LIMIT_EXCEEDED'
  | 'CLUSTER_UNAVAILABLE'
  | 'TOO_MANY_CLIENTS'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'TOO_MANY_REQUESTS'
  | 'HOST_NOT_ALLOWED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

/** An error meant for the client: its status, code and message are sent as they are. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
    /** Extra response headers, e.g. Allow for 405. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function badParameter(name: string, value: string, expected: string): HttpError {
  return new HttpError(
    400,
    'BAD_PARAMETER',
    `parameter '${name}'=${JSON.stringify(value)}: expected ${expected}`,
  );
}

export interface ErrorBody {
  error: { code: HttpErrorCode; message: string };
}

export function errorBody(code: HttpErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}
