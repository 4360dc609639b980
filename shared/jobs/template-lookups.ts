/**
 * The reads templating needs from Prefect: variables for `{{ prefect.variables.<name> }}`, block
 * documents for `{{ prefect.blocks.<slug>.<name> }}` and `{"$ref": {"block_document_id": …}}`.
 * `createTemplateLookups` implements it over the Prefect client; tests use an in-memory one.
 */

/** A block document's data, secrets included. */
export interface BlockData {
  data: Record<string, unknown>;
}

/** Reads for templating. `undefined` means "does not exist"; other failures throw. */
export interface TemplateLookups {
  /** `GET /variables/name/{name}`. */
  readVariable(name: string): Promise<{ value: unknown } | undefined>;
  /** `GET /block_documents/{id}?include_secrets=true`. */
  readBlockDocument(id: string): Promise<BlockData | undefined>;
  /** `GET /block_types/slug/{slug}/block_documents/name/{name}?include_secrets=true`. */
  readBlockDocumentByName(slug: string, name: string): Promise<BlockData | undefined>;
}

const memoize = <T>(cache: Map<string, Promise<T>>, key: string, read: () => Promise<T>) => {
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const reading = read();
  cache.set(key, reading);
  return reading;
};

/**
 * Wraps `lookups` so each variable and block is read at most once: a template that references one
 * block twice reads it once, as Prefect's resolvers cache per call. Make one per resolution, so the
 * next flow run sees edited blocks and variables.
 *
 * @example
 * const once = memoizeTemplateLookups(lookups);
 * await once.readVariable('image');
 * await once.readVariable('image'); // no second read
 */
export const memoizeTemplateLookups = (lookups: TemplateLookups): TemplateLookups => {
  const variables = new Map<string, Promise<{ value: unknown } | undefined>>();
  const blocks = new Map<string, Promise<BlockData | undefined>>();
  return {
    readVariable: (name) => memoize(variables, name, () => lookups.readVariable(name)),
    readBlockDocument: (id) => memoize(blocks, `id:${id}`, () => lookups.readBlockDocument(id)),
    readBlockDocumentByName: (slug, name) =>
      memoize(blocks, `name:${JSON.stringify([slug, name])}`, () =>
        lookups.readBlockDocumentByName(slug, name)
      ),
  };
};
