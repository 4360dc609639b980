/** Health, versions, readiness and the CSRF token endpoint (CSRF protection off, the default). */
import { httpError } from '../http-errors.ts';
import type { RouteDefinition } from '../router.ts';

/** `prefect.__version__` of the server the stand-in imitates. */
export const SERVER_VERSION = '3.8.3';
/** `SERVER_API_VERSION`, served at `/api/version`. */
export const SERVER_API_VERSION = '0.8.4';

export const rootRoutes: readonly RouteDefinition[] = [
  { method: 'GET', path: '/health', handle: () => ({ status: 200, body: true }) },
  { method: 'GET', path: '/version', handle: () => ({ status: 200, body: SERVER_API_VERSION }) },
  { method: 'GET', path: '/ready', handle: () => ({ status: 200, body: { message: 'OK' } }) },
  { method: 'GET', path: '/hello', handle: () => ({ status: 200, body: '👋' }) },
  { method: 'GET', path: '/admin/version', handle: () => ({ status: 200, body: SERVER_VERSION }) },
  {
    method: 'GET',
    path: '/csrf-token',
    handle: () => {
      throw httpError(422, 'CSRF protection is disabled.');
    },
  },
];
