import { apiPath, type HttpTransport } from './http.ts';
import { isNotFound } from './prefect-api-error.ts';
import { type Variable, VariableSchema } from './schemas.ts';
import { compact } from './wire.ts';

/** Fields of `VariableCreate` (admin/seeding). */
export interface CreateVariableInput {
  /** At most 255 characters. */
  name: string;
  /** Any JSON on 3.x servers. */
  value: unknown;
  tags?: readonly string[];
}

/** Variable calls: values for `{{ prefect.variables.<name> }}` placeholders. */
export interface VariableCalls {
  /** `GET /variables/name/{name}`; a missing variable (404) resolves to `undefined`. */
  readVariableByName(name: string): Promise<Variable | undefined>;
  /** `POST /variables/` (admin). 409 when the name exists. */
  createVariable(variable: CreateVariableInput): Promise<Variable>;
}

/** Binds the variable calls to a transport. */
export const createVariableCalls = (http: HttpTransport): VariableCalls => ({
  async readVariableByName(name) {
    const path = apiPath`/variables/name/${name}`;
    try {
      const request = { operation: 'readVariableByName', method: 'GET', path } as const;
      return (await http.sendParsed(request, VariableSchema)).data;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  },

  async createVariable(variable) {
    const request = {
      operation: 'createVariable',
      method: 'POST',
      path: '/variables/',
      body: compact({ name: variable.name, value: variable.value, tags: variable.tags }),
    } as const;
    return (await http.sendParsed(request, VariableSchema)).data;
  },
});
