/**
 * Checks a request body against the real Prefect 3.8.3 OpenAPI document the way the server's
 * `extra="forbid"` models do: unknown keys and missing required keys. Enough to catch a 422 before
 * it happens; the stand-in does full validation.
 */
import { readFileSync } from 'node:fs';

type Schema = Record<string, unknown>;

const document = JSON.parse(
  readFileSync(new URL('../../../standins/prefect/prefect-openapi.json', import.meta.url), 'utf8')
) as {
  paths: Record<
    string,
    Record<string, { requestBody?: { content: Record<string, { schema: Schema }> } }>
  >;
  components: { schemas: Record<string, Schema> };
};

const resolve = (schema: Schema): Schema => {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  const target = document.components.schemas[ref.split('/').pop() ?? ''];
  if (!target) throw new Error(`unknown $ref ${ref}`);
  return resolve(target);
};

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const check = (schema: Schema, value: unknown, at: string, problems: string[]): void => {
  const s = resolve(schema);
  const branches = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (branches) {
    if (value === null) return;
    const candidates = branches.map(resolve).filter((b) => b.type !== 'null');
    // Report against the branch with the fewest problems.
    const results = candidates.map((b) => {
      const found: string[] = [];
      check(b, value, at, found);
      return found;
    });
    const best = results.sort((a, b) => a.length - b.length)[0];
    if (best) problems.push(...best);
    return;
  }
  if (s.type === 'array' && Array.isArray(value) && s.items) {
    value.forEach((item, i) => {
      check(s.items as Schema, item, `${at}[${i}]`, problems);
    });
    return;
  }
  if (s.type === 'object' || s.properties) {
    if (!isPlainObject(value)) {
      problems.push(`${at}: not an object`);
      return;
    }
    const properties = (s.properties ?? {}) as Record<string, Schema>;
    for (const key of (s.required ?? []) as string[]) {
      if (!(key in value)) problems.push(`${at}.${key}: required`);
    }
    for (const [key, member] of Object.entries(value)) {
      const property = properties[key];
      if (property) check(property, member, `${at}.${key}`, problems);
      else if (s.additionalProperties === false) problems.push(`${at}.${key}: not allowed`);
    }
  }
};

/**
 * Problems of `body` as the request body of `method specPath` (e.g. `post`,
 * `/flow_runs/{id}/set_state`); `[]` when the server would accept its keys.
 */
export const bodyProblems = (method: string, specPath: string, body: unknown): string[] => {
  const operation = document.paths[specPath]?.[method.toLowerCase()];
  const schema = operation?.requestBody?.content['application/json']?.schema;
  if (!schema) throw new Error(`no request body for ${method} ${specPath}`);
  const problems: string[] = [];
  check(schema, body, 'body', problems);
  return problems;
};
