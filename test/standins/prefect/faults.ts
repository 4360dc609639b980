/**
 * Scripted failures: the next N requests matching a rule get an error status (optionally with
 * `Retry-After`) or a dropped connection, before auth and routing, as a proxy or rate limiter would;
 * or, with `afterHandling`, after the server handled them (the write happened, the answer is lost);
 * or, with neither a status nor `dropConnection`, no failure at all but a delay (a slow server:
 * `onFire` holds the request, then it is handled and answered as usual).
 */

/** What a rule's `when` sees of a request. */
export interface FaultRequest {
  method: string;
  /** The path after `/api`. */
  path: string;
  /** The raw request target, with the query, e.g. `/api/flow_run_states/?flow_run_id=…`. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface FaultRule {
  /** Only requests with this method (any when absent). */
  method?: string;
  /** Matched against the path after `/api`, e.g. `/work_pools/p/get_scheduled_flow_runs`. */
  path: string | RegExp;
  /**
   * Only requests this accepts (any when absent), e.g. only one client's calls by a header it sends.
   * A request it refuses neither fires the rule nor uses up one of its `times`.
   */
  when?: (request: FaultRequest) => boolean;
  /**
   * The status answered instead. Absent (and no `dropConnection`): the request does not fail, it is
   * only held by `onFire` and then handled as usual.
   */
  status?: number;
  /** Seconds, sent as the `Retry-After` header. */
  retryAfter?: number;
  /** How many matching requests fail; default 1. */
  times?: number;
  /** JSON body of the failure; default `{"detail": "Injected fault"}`. */
  body?: unknown;
  /** Destroy the socket without answering. */
  dropConnection?: boolean;
  /**
   * Handle the request first, then fail the answer: the write happened but the client sees the
   * error (a 503 from a proxy after the server committed, or a connection lost on the way back).
   */
  afterHandling?: boolean;
  /**
   * Runs when the rule fires, before the request is handled (or after, with `afterHandling`): lets a
   * test move the world at exactly that moment (the flow completes while a proposal is in flight).
   */
  onFire?: () => void | Promise<void>;
}

export interface FaultInjector {
  inject(rule: FaultRule): void;
  clear(): void;
}

interface ActiveFault {
  rule: FaultRule;
  remaining: number;
}

/** The fault store of one stand-in; `take` consumes one use of the first matching rule. */
export const createFaults = (): FaultInjector & {
  take(request: FaultRequest): FaultRule | undefined;
} => {
  const active: ActiveFault[] = [];
  return {
    inject(rule) {
      active.push({ rule, remaining: rule.times ?? 1 });
    },
    clear() {
      active.length = 0;
    },
    take(request) {
      const { method, path } = request;
      const index = active.findIndex(
        ({ rule }) =>
          (rule.method === undefined || rule.method.toUpperCase() === method) &&
          (typeof rule.path === 'string' ? rule.path === path : rule.path.test(path)) &&
          (rule.when === undefined || rule.when(request))
      );
      const fault = active[index];
      if (!fault) return undefined;
      fault.remaining -= 1;
      if (fault.remaining <= 0) active.splice(index, 1);
      return fault.rule;
    },
  };
};
