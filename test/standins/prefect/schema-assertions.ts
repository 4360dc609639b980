/**
 * Test helper: assert that a response body has exactly the shape the real Prefect 3.8.3 server
 * sends for a component schema of its OpenAPI document. Reusable by any test in the repo.
 *
 * @example
 * const pool = await (await fetch(`${apiUrl}/work_pools/p`)).json();
 * expectMatchesSchema(pool, 'WorkPoolResponse');
 * expectMatchesSchema(runs, 'WorkerFlowRunResponse[]');
 */
import { expect } from 'vitest';
import { responseShapeErrors } from './response-shapes.ts';

/** Fails the test with every mismatch when `body` does not match `schemaName` exactly. */
export const expectMatchesSchema = (body: unknown, schemaName: string): void => {
  expect(responseShapeErrors(schemaName, body), `response does not match ${schemaName}`).toEqual(
    []
  );
};
