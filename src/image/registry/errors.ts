// Registry answers as berth errors. The distribution spec's error body ({"errors": [{"code",
// "message"}]}) is rendered the way Docker renders it ("manifest unknown: manifest unknown"),
// and the HTTP status picks the error kind.
import type { IncomingMessage } from 'node:http';
import { BerthError, ForbiddenError, InvalidArgumentError, NotFoundError, SystemError, UnavailableError } from '../../errors.js';
import { readBody } from './transport.js';

interface SpecError {
  code?: string;
  message?: string;
}

/** "MANIFEST_UNKNOWN: x" → "manifest unknown: x", as Docker's errcode package prints it. */
export function describeErrorBody(body: Buffer, status: number): string {
  const text = body.toString('utf8').trim();
  try {
    const parsed = JSON.parse(text) as { errors?: SpecError[]; details?: string; message?: string };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      return parsed.errors.map((e) => `${(e.code ?? 'unknown').toLowerCase().replace(/_/g, ' ')}: ${e.message ?? ''}`.trim()).join(', ');
    }
    if (typeof parsed.details === 'string') return parsed.details;
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: the text itself, when short enough to be a message
  }
  if (text && text.length < 300 && !text.startsWith('<')) return text;
  // HEAD answers have no body; these say what the spec's error codes would have.
  if (status === 401) return 'unauthorized: authentication required';
  if (status === 403) return 'denied: requested access to the resource is denied';
  return `${status} ${statusText(status)}`;
}

function statusText(status: number): string {
  const texts: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 416: 'Range Not Satisfiable', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };
  return texts[status] ?? '';
}

export function errorForStatus(status: number, code: string, message: string): BerthError {
  if (status === 401 || status === 403) return new ForbiddenError(code, message);
  if (status === 404) return new NotFoundError(code, message);
  if (status === 400 || status === 405 || status === 409 || status === 416) return new InvalidArgumentError(code, message);
  if (status >= 500 || status === 429) return new UnavailableError(code, message);
  return new SystemError(code, message);
}

/** Reads a failed response's body and turns it into an error; `what` says what was being done. */
export async function responseError(res: IncomingMessage, what: string, code = 'registry_error'): Promise<BerthError> {
  const body = await readBody(res, 64 * 1024).catch(() => Buffer.alloc(0));
  const status = res.statusCode ?? 0;
  return errorForStatus(status, status === 401 ? 'unauthorized' : code, `${what}: ${describeErrorBody(body, status)}`);
}
