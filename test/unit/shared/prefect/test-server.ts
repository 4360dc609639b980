/**
 * A real `node:http` server on port 0 for the Prefect client's tests: it records every request and
 * answers from a script of responders, one per request (the last one repeats).
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the server received it. */
export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/api/work_pools/p`. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Answers one request. */
export type Responder = (
  request: RecordedRequest,
  res: ServerResponse,
  raw: IncomingMessage
) => void;

/** A running test server. */
export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** `<origin>/api` */
  apiUrl: string;
  requests: RecordedRequest[];
  /** Requests' JSON bodies, parsed. */
  bodies(): unknown[];
  close(): Promise<void>;
}

/** Answers with a JSON body. */
export const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Responder =>
  (_request, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

/** Answers with no body. */
export const empty =
  (status: number, headers: Record<string, string> = {}): Responder =>
  (_request, res) => {
    res.writeHead(status, headers);
    res.end();
  };

/** Destroys the socket without answering. */
export const dropConnection = (): Responder => (_request, _res, raw) => {
  raw.socket.destroy();
};

/** Never answers (until the server closes). */
export const hang = (): Responder => () => {};

/** Starts a server answering with `script[i]` for the i-th request (the last one repeats). */
export const startTestServer = async (script: readonly Responder[]): Promise<TestServer> => {
  const requests: RecordedRequest[] = [];
  const server = createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => chunks.push(chunk));
    raw.on('end', () => {
      const request: RecordedRequest = {
        method: raw.method ?? '',
        url: raw.url ?? '',
        headers: raw.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      const responder = script[Math.min(requests.length, script.length) - 1] ?? empty(500);
      responder(request, res, raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    apiUrl: `${origin}/api`,
    requests,
    bodies: () => requests.map((r) => (r.body === '' ? undefined : JSON.parse(r.body))),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

/** A port nothing listens on: bound, then released. */
export const unusedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

/** Records the waits the client asks for instead of sleeping. */
export const recordingSleep = (): { sleep: (ms: number) => Promise<void>; delays: number[] } => {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms) => {
      delays.push(ms);
    },
  };
};
