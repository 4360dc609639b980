/**
 * A local stand-in for a Prefect 3.8.3 server, over real HTTP (`node:http`, no framework), strict
 * where the real server is strict: request bodies and query parameters are validated against the
 * server's own OpenAPI document, unknown routes and methods answer 404/405, errors have the real
 * shapes. Each request goes through: record → injected fault → access proxy (`requiredHeaders`) →
 * CSRF (`csrfProtection`) → auth → route → API-version header → validation → handler.
 *
 * @example
 * const prefect = await startPrefectStandin({ now: () => clock });
 * await fetch(`${prefect.apiUrl}/work_pools/my-pool`); // 404 {"detail": "Work pool \"my-pool\" not found."}
 * await prefect.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkAccessProxy } from './access-proxy.ts';
import { checkApiVersion } from './api-version.ts';
import { isAuthorized, UNAUTHORIZED_BODY } from './auth.ts';
import { type CsrfProtection, createCsrfProtection } from './csrf.ts';
import { createFaults, type FaultRule } from './faults.ts';
import {
  HttpError,
  methodNotAllowed,
  requestValidationError,
  routeNotFound,
} from './http-errors.ts';
import { findOperation } from './openapi-document.ts';
import { validateQuery, validateRequestBody } from './openapi-validator.ts';
import { isJsonContentType, jsonDecodeError, parseLoosely, readBody } from './request-body.ts';
import { createRouter, type RouteResponse } from './router.ts';
import { blockRoutes } from './routes/blocks.ts';
import { deploymentFilterRoutes } from './routes/deployment-filter.ts';
import { deploymentRoutes } from './routes/deployments.ts';
import { eventRoutes } from './routes/events.ts';
import { flowRunStateRoutes } from './routes/flow-run-states.ts';
import { flowRunRoutes } from './routes/flow-runs.ts';
import { flowRoutes } from './routes/flows.ts';
import { rootRoutes } from './routes/root.ts';
import { variableAndLogRoutes } from './routes/variables-and-logs.ts';
import { workPoolRoutes } from './routes/work-pools.ts';
import { workQueueRoutes } from './routes/work-queues.ts';
import { workerRoutes } from './routes/workers.ts';
import { createStore, type EventRecord, type LogRecord, type Store } from './store.ts';

export type { FaultRequest, FaultRule } from './faults.ts';

export interface PrefectStandinOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** `user:pass`: require Basic auth (401 `{"exception_message":"Unauthorized"}`); `/health` is exempt. */
  authString?: string;
  /** Require `Authorization: Bearer <apiKey>` (Prefect Cloud style). */
  apiKey?: string;
  /** Injectable clock for heartbeat, status, scheduling and timestamps. */
  now?: () => Date;
  /**
   * `PREFECT_SERVER_CSRF_PROTECTION_ENABLED=true`: writes need a token from `GET /csrf-token`
   * (403 otherwise, see csrf.ts). Off (the default): `/csrf-token` answers 422.
   */
  csrfProtection?: boolean;
  /** `PREFECT_SERVER_CSRF_TOKEN_EXPIRATION` in ms (default 1 h), by the stand-in's clock. */
  csrfTokenExpirationMs?: number;
  /** An access proxy in front: every request needs these headers (401 without, 403 if wrong). */
  requiredHeaders?: Readonly<Record<string, string>>;
}

export interface RecordedRequest {
  method: string;
  /** The path after `/api` (the full path for requests outside `/api`), without the query. */
  path: string;
  /** The raw request target, e.g. `/api/block_documents/…?include_secrets=true`. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON; the raw text when it is not JSON; undefined when there was no body. */
  body: unknown;
  /** The status answered; 0 for a dropped connection. */
  status: number;
  /** When it arrived, by the stand-in's clock. */
  at: Date;
  /** Set when a handler crashed (the client saw a 500). */
  error?: string;
  /** With an `afterHandling` fault: what the server did answer before the fault replaced it. */
  handledStatus?: number;
}

export interface PrefectStandin {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `url + '/api'`: what `PREFECT_API_URL` would be. */
  apiUrl: string;
  requests: RecordedRequest[];
  faults: { inject(rule: FaultRule): void; clear(): void };
  /** Every log line received by `POST /logs/`, oldest first. */
  readonly logs: readonly LogRecord[];
  /** Every event received by `POST /events`, oldest first, once per id (as the server keeps them). */
  readonly events: readonly EventRecord[];
  /** The CSRF state when started with `csrfProtection`. */
  csrf: CsrfProtection | undefined;
  close(): Promise<void>;
}

const route = createRouter([
  ...rootRoutes,
  ...workPoolRoutes,
  ...workQueueRoutes,
  ...workerRoutes,
  ...flowRoutes,
  ...deploymentRoutes,
  ...deploymentFilterRoutes,
  ...flowRunRoutes,
  ...flowRunStateRoutes,
  ...blockRoutes,
  ...variableAndLogRoutes,
  ...eventRoutes,
]);

interface Dispatch {
  store: Store;
  options: PrefectStandinOptions;
  csrf: CsrfProtection | undefined;
  method: string;
  apiPath: string | undefined;
  url: URL;
  request: IncomingMessage;
  text: string;
}

const dispatch = ({
  store,
  options,
  csrf,
  method,
  apiPath,
  url,
  request,
  text,
}: Dispatch): RouteResponse => {
  checkAccessProxy(options.requiredHeaders, request.headers);
  // Prefect adds CsrfMiddleware to the outer app, outside the API's auth middleware.
  csrf?.check(method, request.headers);
  if (apiPath === undefined) throw routeNotFound();
  const authorization = request.headers.authorization;
  if (!isAuthorized(options, method, apiPath, authorization)) {
    throw new HttpError(401, UNAUTHORIZED_BODY);
  }
  const match = route(method, apiPath);
  if (match.kind === 'not-found') {
    // Starlette's redirect_slashes: the same path with/without a trailing slash exists → 307.
    const toggled = apiPath.endsWith('/') ? apiPath.slice(0, -1) : `${apiPath}/`;
    if (apiPath !== '/' && route(method, toggled).kind !== 'not-found') {
      throw new HttpError(307, undefined, { location: `/api${toggled}${url.search}` });
    }
    throw routeNotFound();
  }
  if (match.kind === 'method-not-allowed') throw methodNotAllowed(match.allowed);
  if (match.kind === 'not-implemented') {
    throw new HttpError(501, {
      detail: `Prefect stand-in: ${method} ${match.specPath} is not implemented`,
    });
  }
  const operation = findOperation(match.specPath, method);
  if (operation?.parameters?.some((p) => p.in === 'header' && p.name === 'x-prefect-api-version')) {
    const header = request.headers['x-prefect-api-version'];
    const versionError = checkApiVersion(Array.isArray(header) ? header[0] : header);
    if (versionError) throw versionError;
  }

  const query = validateQuery(match.specPath, method, url.searchParams);
  let body: unknown;
  const present = text.length > 0;
  if (present && operation?.requestBody) {
    if (isJsonContentType(request.headers['content-type'])) {
      try {
        body = JSON.parse(text) as unknown;
      } catch (error) {
        throw jsonDecodeError(text, error as Error);
      }
    } else body = text;
  }
  const issues = [
    ...query.issues,
    ...validateRequestBody(match.specPath, method, { present, value: body }),
  ];
  if (issues.length > 0) throw requestValidationError(issues, body);
  if (csrf && match.specPath === '/csrf-token') return csrf.issue(String(query.values.client));

  return match.route.handle({
    store,
    params: match.params,
    body,
    bodyPresent: present,
    query: query.values,
    headers: request.headers,
  });
};

const send = (
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {}
): void => {
  if (status === 204 || body === undefined) {
    response.writeHead(status, headers);
    response.end();
    return;
  }
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(payload)),
  });
  response.end(payload);
};

/** Starts a stand-in on `options.port` (default: a free port). */
export const startPrefectStandin = async (
  options: PrefectStandinOptions = {}
): Promise<PrefectStandin> => {
  const store = createStore(options.now);
  const faults = createFaults();
  const requests: RecordedRequest[] = [];
  const csrf = options.csrfProtection
    ? createCsrfProtection({
        now: options.now ?? (() => new Date()),
        expirationMs: options.csrfTokenExpirationMs,
      })
    : undefined;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const raw = await readBody(request);
    const text = raw.toString('utf8');
    const url = new URL(request.url ?? '/', 'http://standin.invalid');
    let path = url.pathname;
    try {
      path = decodeURIComponent(path);
    } catch {
      // keep the raw path; it will not match any route
    }
    const apiPath = path === '/api' ? '/' : path.startsWith('/api/') ? path.slice(4) : undefined;
    const method = (request.method ?? 'GET').toUpperCase();
    const recorded: RecordedRequest = {
      method,
      path: apiPath ?? path,
      url: request.url ?? '/',
      headers: { ...request.headers },
      body: parseLoosely(text),
      status: 0,
      at: options.now?.() ?? new Date(),
    };
    requests.push(recorded);

    const taken = faults.take(recorded);
    // A rule with no failure only holds the request (a slow server), then lets it through.
    const slow = taken !== undefined && taken.status === undefined && !taken.dropConnection;
    if (slow) await taken.onFire?.();
    const fault = slow ? undefined : taken;
    const failAnswer = async (rule: FaultRule): Promise<void> => {
      await rule.onFire?.();
      if (rule.dropConnection) {
        request.socket.destroy();
        return;
      }
      const status = rule.status ?? 500;
      recorded.status = status;
      const headers: Record<string, string> =
        rule.retryAfter === undefined ? {} : { 'retry-after': String(rule.retryAfter) };
      send(response, status, rule.body ?? { detail: 'Injected fault' }, headers);
    };
    if (fault && !fault.afterHandling) {
      await failAnswer(fault);
      return;
    }

    try {
      const result = dispatch({ store, options, csrf, method, apiPath, url, request, text });
      if (fault) {
        recorded.handledStatus = result.status;
        await failAnswer(fault);
        return;
      }
      recorded.status = result.status;
      send(response, result.status, result.body);
    } catch (error) {
      if (error instanceof HttpError) {
        recorded.status = error.status;
        send(response, error.status, error.body, error.headers);
        return;
      }
      recorded.status = 500;
      recorded.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`Prefect stand-in: ${method} ${recorded.path} crashed`, error);
      send(response, 500, { exception_message: 'Internal Server Error' });
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      console.error('Prefect stand-in: request failed', error);
      if (!response.headersSent)
        send(response, 500, { exception_message: 'Internal Server Error' });
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    apiUrl: `${url}/api`,
    requests,
    faults: { inject: (rule) => faults.inject(rule), clear: () => faults.clear() },
    get logs() {
      return store.logs;
    },
    get events() {
      return store.events;
    },
    csrf,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
};
