// Typed errors shared by every part of berth. The kind survives the API wire (it maps to an
// HTTP status and back), so a remote engine raises the same class as the local one.

export type ErrorKind =
  | 'NotFound'
  | 'Conflict'
  | 'InvalidArgument'
  | 'Unavailable'
  | 'Forbidden'
  | 'System';

export class BerthError extends Error {
  readonly kind: ErrorKind;
  /** A stable machine-readable code, e.g. "image_not_found". */
  readonly code: string;

  constructor(kind: ErrorKind, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.code = code;
    this.name = kind + 'Error';
  }
}

export class NotFoundError extends BerthError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('NotFound', code, message, options);
  }
}
export class ConflictError extends BerthError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('Conflict', code, message, options);
  }
}
export class InvalidArgumentError extends BerthError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('InvalidArgument', code, message, options);
  }
}
export class UnavailableError extends BerthError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('Unavailable', code, message, options);
  }
}
export class ForbiddenError extends BerthError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('Forbidden', code, message, options);
  }
}
export class SystemError extends BerthError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('System', code, message, options);
  }
}

const httpStatusByKind: Record<ErrorKind, number> = {
  NotFound: 404,
  Conflict: 409,
  InvalidArgument: 400,
  Unavailable: 503,
  Forbidden: 403,
  System: 500,
};

export function httpStatusOf(err: unknown): number {
  return err instanceof BerthError ? httpStatusByKind[err.kind] : 500;
}

/** Rebuilds a typed error from its wire form (kind + code + message). */
export function errorFromWire(kind: string, code: string, message: string): BerthError {
  const k = (Object.keys(httpStatusByKind) as ErrorKind[]).includes(kind as ErrorKind)
    ? (kind as ErrorKind)
    : 'System';
  return new BerthError(k, code, message);
}

/** Errors from Node's fs carry an errno code; this narrows them without `any`. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err
    ? String((err as { code: unknown }).code)
    : undefined;
}
