import { isJsonObject, type JsonObject } from './json-object.ts';

const containsText = (value: unknown, text: string): boolean => {
  if (typeof value === 'string') return value.includes(text);
  if (Array.isArray(value)) return value.some((item) => containsText(item, text));
  if (isJsonObject(value)) return Object.values(value).some((item) => containsText(item, text));
  return false;
};

/** Names the job variable a placeholder (or block id) came from; `undefined` if none holds it. */
export type PlaceholderOrigin = (text: string) => string | undefined;

/**
 * Finds which value (job variable or schema default) holds `text`, so an error can say "change the
 * job variable `image`" rather than only where the bad value ended up.
 *
 * @example
 * const originOf = placeholderOrigin({ image: '{{ prefect.blocks.secret.registry }}/etl:1' });
 * originOf('{{ prefect.blocks.secret.registry }}'); // 'image'
 */
export const placeholderOrigin =
  (values: JsonObject): PlaceholderOrigin =>
  (text) =>
    Object.entries(values).find(([, value]) => containsText(value, text))?.[0];
