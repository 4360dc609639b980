/**
 * Reading request bodies the way the server does: the raw bytes, JSON when the Content-Type is JSON
 * or absent (Prefect defaults a missing Content-Type to JSON), and FastAPI's `json_invalid` error.
 */
import type { IncomingMessage } from 'node:http';
import { type HttpError, requestValidationError } from './http-errors.ts';

/** All bytes of the request body. */
export const readBody = async (request: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/** For the request log: parsed JSON, the raw text when not JSON, undefined when empty. */
export const parseLoosely = (text: string): unknown => {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};

/** Whether the body is to be parsed as JSON. */
export const isJsonContentType = (contentType: string | undefined): boolean => {
  if (!contentType) return true; // the server defaults a missing Content-Type to JSON
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || mediaType.endsWith('+json');
};

/** FastAPI's `json_invalid` error for a body that is not JSON. */
export const jsonDecodeError = (text: string, error: Error): HttpError => {
  const position = Number(/position (\d+)/.exec(error.message)?.[1] ?? 0);
  return requestValidationError(
    [
      {
        type: 'json_invalid',
        loc: ['body', position],
        msg: 'JSON decode error',
        input: {},
        ctx: { error: error.message },
      },
    ],
    text
  );
};
