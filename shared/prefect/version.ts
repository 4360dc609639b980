/**
 * Identity of this client on the wire.
 *
 * We send our own `User-Agent` rather than impersonating `prefect/x.y.z`: the server only uses the
 * parsed Prefect version for concurrency-lease compatibility on proposals the flow engine makes and
 * for trimming work-pool responses, so an unparseable agent is safe for every call we make
 * (prefect-worker-api.md §5.3).
 */

/** Version of prefect-ecs-serverless; kept equal to `package.json` `version` by a unit test. */
export const CLIENT_VERSION = '0.1.0';

/**
 * The `X-PREFECT-API-VERSION` header value. The server rejects values below 0.8.0, and 0.8.4 turns
 * on the terminal-state compatibility rules the current Python client gets (§1.2).
 */
export const SERVER_API_VERSION = '0.8.4';

/** Where the project lives; appears in the default `User-Agent` so server operators can find us. */
export const PROJECT_URL = 'https://github.com/prefect-ecs-serverless/prefect-ecs-serverless';

/** Default `User-Agent`: `prefect-ecs-serverless/<version> (+<project url>)`. */
export const DEFAULT_USER_AGENT = `prefect-ecs-serverless/${CLIENT_VERSION} (+${PROJECT_URL})`;
