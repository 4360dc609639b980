import * as z from 'zod';
import type { HttpTransport } from './http.ts';
import { isNotFound } from './prefect-api-error.ts';

/** Server-level calls. */
export interface ServerCalls {
  /** `GET /health`: `true` when the server answers healthy. Errors throw as usual. */
  health(): Promise<boolean>;
  /**
   * `GET /admin/version`, e.g. `"3.8.3"`; `undefined` where the route does not exist (404, e.g.
   * Prefect Cloud). Use it to gate calls that need a minimum server version.
   */
  readServerVersion(): Promise<string | undefined>;
}

/** Binds the server calls to a transport. */
export const createServerCalls = (http: HttpTransport): ServerCalls => ({
  async health() {
    const request = { operation: 'health', method: 'GET', path: '/health' } as const;
    return (await http.sendParsed(request, z.boolean())).data;
  },

  async readServerVersion() {
    try {
      const request = {
        operation: 'readServerVersion',
        method: 'GET',
        path: '/admin/version',
      } as const;
      return (await http.sendParsed(request, z.string())).data;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  },
});
