/** Reading a request body with a size limit, and Galileo's form parsing. */
import type { IncomingMessage } from 'node:http';
import type { FormParams } from './types.js';

export type BodyResult = { kind: 'ok'; body: string } | { kind: 'too_large' } | { kind: 'aborted' };

export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        settle({ kind: 'too_large' });
      } else {
        chunks.push(chunk);
      }
    };
    req.on('data', onData);
    req.on('end', () => settle({ kind: 'ok', body: Buffer.concat(chunks).toString('utf8') }));
    req.on('error', () => settle({ kind: 'aborted' }));
    req.on('close', () => settle({ kind: 'aborted' })); // fires after 'end' too; then it is a no-op
  });
}

/**
 * Galileo reads form fields only: a body in another content type carries no parameters (and so
 * fails the credential check). The first value wins for a repeated name.
 */
export function parseForm(body: string, contentType: string | undefined): FormParams {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const params: FormParams = {};
  if (type !== '' && type !== 'application/x-www-form-urlencoded') return params;
  for (const [key, value] of new URLSearchParams(body)) {
    if (key === '__proto__' || Object.hasOwn(params, key)) continue;
    params[key] = value;
  }
  return params;
}
