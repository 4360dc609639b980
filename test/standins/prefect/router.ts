/**
 * Matches requests the way Starlette does for the real server: path templates with convertors
 * (`{id:uuid}` only matches a UUID, so `GET /flow_runs/not-a-uuid` is a 404, not a 422), a full
 * match wins, a path matched only with another method is a 405. Every operation of the OpenAPI
 * document is known: one the stand-in does not implement answers 501 instead of pretending.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { openApiDocument } from './openapi-document.ts';
import type { Store } from './store.ts';

/** What a handler receives. `body` and `query` are already validated against the document. */
export interface RequestContext {
  readonly store: Store;
  readonly params: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly bodyPresent: boolean;
  readonly query: Readonly<Record<string, unknown>>;
  readonly headers: IncomingHttpHeaders;
}

/** A handler's answer; no `body` means no content (204). */
export interface RouteResponse {
  readonly status: number;
  readonly body?: unknown;
}

/** One implemented operation. `path` uses Starlette convertors, e.g. `/flow_runs/{id:uuid}`. */
export interface RouteDefinition {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly handle: (context: RequestContext) => RouteResponse;
}

export type RouteMatch =
  | {
      kind: 'route';
      route: RouteDefinition;
      specPath: string;
      params: Record<string, string>;
    }
  | { kind: 'not-implemented'; specPath: string }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

// Starlette's UUIDConvertor (recent versions accept upper case and missing hyphens).
const UUID_PATTERN =
  '[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}';

const CONVERTORS: Record<string, string> = {
  str: '[^/]+',
  uuid: UUID_PATTERN,
  path: '.*',
  int: '[0-9]+',
};

/** The document path of a template: convertors stripped (`/a/{id:uuid}` → `/a/{id}`). */
export const specPathOf = (template: string): string => template.replace(/\{(\w+):\w+\}/g, '{$1}');

/** Prefect declares every id parameter with the `uuid` convertor. */
const inferConvertor = (name: string): string =>
  name === 'id' || name.endsWith('_id') ? 'uuid' : 'str';

interface CompiledTemplate {
  readonly specPath: string;
  readonly regex: RegExp;
  readonly names: string[];
}

const compileTemplate = (template: string): CompiledTemplate => {
  const names: string[] = [];
  const source = template
    .split(/(\{\w+(?::\w+)?\})/)
    .map((part) => {
      const param = /^\{(\w+)(?::(\w+))?\}$/.exec(part);
      if (!param) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const name = param[1] ?? '';
      names.push(name);
      const convertor = param[2] ?? inferConvertor(name);
      return `(${CONVERTORS[convertor] ?? CONVERTORS.str})`;
    })
    .join('');
  return { specPath: specPathOf(template), regex: new RegExp(`^${source}$`), names };
};

/** Builds the matcher for the implemented `routes`; throws on a route the document does not have. */
export const createRouter = (
  routes: readonly RouteDefinition[]
): ((method: string, path: string) => RouteMatch) => {
  const implemented = new Map<string, RouteDefinition>();
  const implementedTemplates = new Map<string, CompiledTemplate>();
  for (const route of routes) {
    const specPath = specPathOf(route.path);
    if (!openApiDocument.paths[specPath]?.[route.method.toLowerCase()]) {
      throw new Error(
        `Prefect stand-in route ${route.method} ${route.path} is not in the OpenAPI document`
      );
    }
    implemented.set(`${route.method} ${specPath}`, route);
    implementedTemplates.set(specPath, compileTemplate(route.path));
  }
  // In the document's order, which is the server's registration order (first full match wins).
  const templates = Object.keys(openApiDocument.paths).map(
    (specPath) => implementedTemplates.get(specPath) ?? compileTemplate(specPath)
  );

  return (method, path) => {
    const allowed: string[] = [];
    for (const template of templates) {
      const match = template.regex.exec(path);
      if (!match) continue;
      const methods = Object.keys(openApiDocument.paths[template.specPath] ?? {}).map((m) =>
        m.toUpperCase()
      );
      if (!methods.includes(method)) {
        allowed.push(...methods);
        continue;
      }
      const route = implemented.get(`${method} ${template.specPath}`);
      if (!route) return { kind: 'not-implemented', specPath: template.specPath };
      const params: Record<string, string> = {};
      template.names.forEach((name, index) => {
        params[name] = match[index + 1] ?? '';
      });
      return { kind: 'route', route, specPath: template.specPath, params };
    }
    return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
  };
};
