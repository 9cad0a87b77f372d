/**
 * Headers the gateway refuses to guess about, checked before routing and authentication (nothing
 * of the body is read): an expectation it cannot meet (417; Node would answer it itself and keep
 * reading), an HTTP/1.1 request without Host (400, as RFC 9112 requires; Node's own 400 has no
 * problem body), and a header the gateway reads sent twice (Node keeps the first Authorization,
 * Content-Type or Host and drops the rest silently: two Authorization headers were "first wins").
 */
import type { RequestHandler } from 'express';
import { GatewayError } from '../errors.js';

/** The headers the gateway reads whose duplicates Node would drop without a word. */
const SINGLE = new Set(['authorization', 'content-type', 'host']);

export const checkRequestHead: RequestHandler = (req, _res, next) => {
  const { expect } = req.headers;
  if (expect !== undefined && expect.trim().toLowerCase() !== '100-continue') {
    throw new GatewayError('expectation_failed', 'The only expectation the gateway meets is Expect: 100-continue.', {
      errors: [{ field: 'expect', message: 'must be 100-continue or absent' }],
    });
  }
  if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) {
    throw new GatewayError('invalid_request', 'An HTTP/1.1 request must carry a Host header.', { errors: [{ field: 'host', message: 'is required' }] });
  }
  const raw = req.rawHeaders;
  let seen: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!SINGLE.has(name)) continue;
    seen ??= new Set();
    if (seen.has(name)) {
      throw new GatewayError('invalid_request', `The ${name} header is sent more than once.`, { errors: [{ field: name, message: 'is sent more than once' }] });
    }
    seen.add(name);
  }
  next();
};
