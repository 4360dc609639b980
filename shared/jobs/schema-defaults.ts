import { getOwn, isJsonObject, type JsonObject, setOwn } from './json-object.ts';

/**
 * The defaults of a work pool's `variables` JSON schema (Prefect's `_get_base_config_defaults`):
 * `properties.<name>.default` for every property that has a non-null default. Null defaults are
 * dropped (Prefect 3), so their placeholders count as unset and vanish from the configuration.
 *
 * @example
 * schemaDefaults({
 *   properties: {
 *     launch_type: { type: 'string', default: 'FARGATE' },
 *     cpu: { anyOf: [{ type: 'integer' }, { type: 'null' }], default: null },
 *     labels: { type: 'object' },
 *   },
 * }); // { launch_type: 'FARGATE' }
 */
export const schemaDefaults = (variablesSchema: JsonObject): JsonObject => {
  const properties = getOwn(variablesSchema, 'properties');
  const defaults: JsonObject = {};
  if (!isJsonObject(properties)) return defaults;
  for (const [name, property] of Object.entries(properties)) {
    if (!isJsonObject(property)) continue;
    const value = getOwn(property, 'default');
    if (value !== undefined && value !== null) setOwn(defaults, name, value);
  }
  return defaults;
};
