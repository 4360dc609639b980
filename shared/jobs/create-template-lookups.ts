import type { BlockCalls } from '../prefect/block-calls.ts';
import { isNotFound } from '../prefect/prefect-api-error.ts';
import type { VariableCalls } from '../prefect/variable-calls.ts';
import type { BlockData, TemplateLookups } from './template-lookups.ts';

/** The Prefect client calls the lookups use. */
export type TemplateLookupsClient = Pick<VariableCalls, 'readVariableByName'> &
  Pick<BlockCalls, 'readBlockDocument' | 'readBlockDocumentByName'>;

const orMissing = async (read: Promise<BlockData>): Promise<BlockData | undefined> => {
  try {
    return await read;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
};

/**
 * {@link TemplateLookups} over the Prefect client: block documents are read with
 * `include_secrets=true` (templates need the real values); a 404 means "does not exist"; every other
 * failure (`PrefectConnectionError`, 5xx, …) is thrown as is, `retryable` intact.
 *
 * Nothing is cached here: `resolveJobConfiguration` memoises per resolution, so a warm Lambda never
 * serves a stale secret to the next run.
 *
 * @example
 * const lookups = createTemplateLookups(createPrefectClient({ apiUrl }));
 * await lookups.readBlockDocumentByName('secret', 'registry-password'); // { data: { value: '…' } }
 */
export const createTemplateLookups = (prefect: TemplateLookupsClient): TemplateLookups => ({
  readVariable: (name) => prefect.readVariableByName(name),
  readBlockDocument: (id) => orMissing(prefect.readBlockDocument(id, { includeSecrets: true })),
  readBlockDocumentByName: (slug, name) =>
    orMissing(prefect.readBlockDocumentByName(slug, name, { includeSecrets: true })),
});
