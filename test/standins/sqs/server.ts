import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { checkSqsRequest } from './strict-rules.ts';

/** A queue the stand-in creates at start, optionally with a dead-letter queue as `infra/` defines it. */
export interface SqsQueueSpec {
  name: string;
  /** Seconds a received message stays invisible (SQS default 30). */
  visibilityTimeout?: number;
  /** Creates `<name>-dlq` and a redrive policy with this `maxReceiveCount`. */
  maxReceiveCount?: number;
}

export interface SqsStandinOptions {
  port?: number;
  host?: string;
  region?: string;
  queues?: SqsQueueSpec[];
}

export interface SqsQueue {
  name: string;
  url: string;
  arn: string;
  dlq?: { name: string; url: string; arn: string };
}

export interface SqsStandin {
  /** Endpoint for `AWS_ENDPOINT_URL_SQS` / the client's `endpoint`. */
  url: string;
  queues: Record<string, SqsQueue>;
  /** The fauxqs server behind the strict front, for inspection (`inspectQueue`, `spy`). */
  fauxqs: FauxqsServer;
  /** Every request the front forwarded, in arrival order (test/deploy/iam-simulation.test.ts). */
  calls: SqsRecordedCall[];
  close(): Promise<void>;
}

/**
 * Starts fauxqs, the npm SQS emulator, behind a thin strict front that adds the checks fauxqs lacks
 * (see `strict-rules.ts`), and creates the queues asked for.
 *
 * fauxqs names queues `http://sqs.<region>.localhost:<port>/…`; the front rewrites them to its own
 * `http://127.0.0.1:<port>/…` so that any process reaches the queues with no DNS tricks (fauxqs looks
 * queues up by name when the URL carries no region).
 */
export const startSqsStandin = async (options: SqsStandinOptions = {}): Promise<SqsStandin> => {
  const region = options.region ?? 'us-east-1';
  const host = options.host ?? '127.0.0.1';
  const fauxqs = await startFauxqs({ port: 0, logger: false, defaultRegion: region });
  const backendPort = fauxqs.port;

  const front = createServer((req, res) => {
    void forward(req, backendPort).then(
      (answer) => {
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: 'InternalFailure', message: String(error) }));
      }
    );
  });
  await new Promise<void>((resolve) => front.listen(options.port ?? 0, host, resolve));
  const url = `http://${host}:${(front.address() as AddressInfo).port}`;
  // fauxqs builds a queue's URL from the request's Host port, so a queue created through the front
  // (CreateQueue over HTTP) carries the front's port and one created at start the backend's: any
  // port is rewritten, in every answer (CreateQueue, GetQueueUrl, ListQueues, redrive sources...).
  const publicUrl = (text: string): string =>
    text.replace(/http:\/\/sqs\.[a-z0-9-]+\.localhost(?::\d+)?/g, url);

  const calls: SqsRecordedCall[] = [];
  async function forward(req: IncomingMessage, port: number): Promise<Answer> {
    const body = await readBody(req);
    const rejection = checkSqsRequest(String(req.headers['x-amz-target'] ?? ''), body);
    if (rejection) return rejection;
    const answer = await send(req, body, port);
    calls.push(recordedCall(req, body, answer.status));
    return { ...answer, body: Buffer.from(publicUrl(answer.body.toString('utf8'))) };
  }

  const queues: Record<string, SqsQueue> = {};
  for (const spec of options.queues ?? []) {
    queues[spec.name] = createQueue(fauxqs, spec, region, publicUrl);
  }
  return {
    url,
    queues,
    fauxqs,
    calls,
    close: async () => {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await fauxqs.stop();
    },
  };
};

/** One request the front forwarded: who signed it (SigV4 access key id), what it asked, the answer's status. */
export interface SqsRecordedCall {
  /** `SendMessage`, from `X-Amz-Target: AmazonSQS.SendMessage`. */
  operation: string;
  input: Record<string, unknown>;
  accessKeyId?: string;
  status: number;
}

const recordedCall = (req: IncomingMessage, body: Buffer, status: number): SqsRecordedCall => {
  const target = String(req.headers['x-amz-target'] ?? '');
  const key = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
  let input: Record<string, unknown> = {};
  try {
    input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
  } catch {
    // a body the strict front let through but that is not JSON: recorded without input
  }
  return {
    operation: target.slice(target.lastIndexOf('.') + 1),
    input,
    ...(key ? { accessKeyId: key } : {}),
    status,
  };
};

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

const send = (req: IncomingMessage, body: Buffer, port: number): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const upstream = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'content-length': String(body.length) },
      },
      (res) => {
        void readBody(res).then((answerBody) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined && name !== 'content-length' && name !== 'transfer-encoding') {
              headers[name] = Array.isArray(value) ? value.join(', ') : value;
            }
          }
          resolve({ status: res.statusCode ?? 500, headers, body: answerBody });
        }, reject);
      }
    );
    upstream.on('error', reject);
    upstream.end(body);
  });

const createQueue = (
  fauxqs: FauxqsServer,
  spec: SqsQueueSpec,
  region: string,
  publicUrl: (text: string) => string
): SqsQueue => {
  const attributes: Record<string, string> = {};
  if (spec.visibilityTimeout !== undefined) {
    attributes.VisibilityTimeout = String(spec.visibilityTimeout);
  }
  let dlq: SqsQueue['dlq'];
  if (spec.maxReceiveCount !== undefined) {
    const created = fauxqs.createQueue(`${spec.name}-dlq`, { region });
    dlq = { name: created.queueName, url: publicUrl(created.queueUrl), arn: created.queueArn };
    attributes.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: created.queueArn,
      maxReceiveCount: spec.maxReceiveCount,
    });
  }
  const created = fauxqs.createQueue(spec.name, { region, attributes });
  return {
    name: created.queueName,
    url: publicUrl(created.queueUrl),
    arn: created.queueArn,
    ...(dlq ? { dlq } : {}),
  };
};
