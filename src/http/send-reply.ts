/** Last step: Galileo's answer byte for byte, or the problem for an upstream failure or a lost answer. */
import type { RequestHandler } from 'express';
import { GatewayError } from '../errors.js';
import { context } from './context.js';
import { lostAnswerProblem } from './lost-answers.js';

export const sendReply: RequestHandler = (_req, res) => {
  const { reply, lostAnswer } = context(res);
  if (lostAnswer) throw lostAnswerProblem(lostAnswer);
  if (reply === undefined) throw new Error('sendReply: no reply (forwardToGalileo must run first)');
  if (reply.kind === 'failure') {
    const retryAfter = reply.retryAfterMs === undefined ? {} : { headers: { 'retry-after': String(Math.ceil(reply.retryAfterMs / 1000)) } };
    throw new GatewayError(reply.code, reply.detail, retryAfter);
  }
  res.status(reply.httpStatus);
  res.setHeader('content-type', reply.contentType);
  res.setHeader('content-length', Buffer.byteLength(reply.body));
  // A string, not a Buffer: Node then sends the headers and the body in one write.
  res.end(reply.body);
};
