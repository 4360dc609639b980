/**
 * The AWS clients of each `aws_credentials` a pool names, cached per warm container (prefect-aws
 * caches its clients the same way, `lru_cache(maxsize=8)` in `credentials.py`).
 *
 * A scope is one set of settings in one region: the function's own (home) credentials, a block's
 * static keys, or a role assumed with either. Assumed credentials are kept with their expiry and
 * assumed again when less than {@link REFRESH_BEFORE_MS} is left; `get` makes sure they are fresh
 * before it answers, so AssumeRole failures surface there as {@link AssumeRoleError}s (retryable or
 * not) and never inside an ECS call. The clients' credential provider then hands out the cached
 * credentials with their `expiration`, and the SDK asks again when they near it.
 */
import { randomBytes } from 'node:crypto';
import { type AssumedCredentials, type AssumeRoleCall, AssumeRoleError } from './assume-role.ts';
import {
  type AwsClientTuning,
  type AwsCredentialsSettings,
  assumedAccountOf,
} from './aws-credentials-settings.ts';
import type { AwsCredentials } from './signed-aws-request.ts';

/**
 * Credentials with less than this left are assumed again. Above the SDK's own 5-minute refresh
 * window, so the SDK never holds credentials we consider stale.
 */
export const REFRESH_BEFORE_MS = 330_000;
/** Scopes kept per container (the oldest is dropped beyond this). */
export const MAX_SCOPES = 32;
/**
 * Assumed credentials AWS refuses when they are at least this old were probably revoked (IAM
 * "Revoke active sessions") or cut short: worth assuming the role again and retrying. Refused
 * younger, they show a real permission problem.
 */
export const STALE_AFTER_MS = 60_000;

/** What the builder of a scope's clients gets. */
export interface AwsScope {
  /** `home` for the functions' own credentials in their own region. */
  key: string;
  home: boolean;
  region: string;
  /** The account of the assumed role; undefined for home and static keys (not known offline). */
  account: string | undefined;
  /** The SDK `credentials` option; undefined: the SDK default (the function's role). */
  credentials: (() => Promise<AwsCredentials & { expiration?: Date | undefined }>) | undefined;
  endpoint: string | undefined;
  tuning: AwsClientTuning;
  settings: AwsCredentialsSettings | null;
}

/** Options of {@link createAwsScopes}. */
export interface AwsScopesOptions<T> {
  homeRegion: string;
  /** The function's own credentials (an SDK client's `config.credentials`), the base of AssumeRole. */
  homeCredentials: () => Promise<AwsCredentials>;
  /**
   * `ASSUME_ROLE_ARNS`: the roles the stack lets the functions assume. A role outside the list is
   * refused before STS is asked, with the fix. Undefined: not restricted (local runs; IAM decides).
   */
  allowedRoleArns?: readonly string[] | undefined;
  assumeRole: AssumeRoleCall;
  build: (scope: AwsScope) => T;
  /** The home scope's value when the caller already has it (e.g. clients tests aim at stand-ins). */
  home?: T;
  now?: () => Date;
}

/** The clients of each scope. */
export interface AwsScopes<T> {
  readonly home: T;
  /**
   * The clients for `settings` (null: home) in `region` (default: the settings', else home's).
   * Rejects with {@link AssumeRoleError} when the role cannot be assumed.
   */
  get(settings: AwsCredentialsSettings | null, region?: string): Promise<T>;
  /**
   * AWS refused the scope's credentials (expired, revoked, denied): the scope's clients and
   * credentials are dropped (the SDK clients keep credentials until their expiry), so the next
   * `get` builds new ones and assumes the role again. Answers the age (ms) of the refused assumed
   * credentials; undefined for home and static keys (nothing to renew: kept).
   */
  refused(settings: AwsCredentialsSettings | null, region?: string): number | undefined;
}

interface Entry<T> {
  value: T;
  fresh: () => Promise<unknown>;
  /** Forgets the assumed credentials; answers how old they were (undefined: none held). */
  forget?: () => number | undefined;
}

/**
 * @example
 * const scopes = createAwsScopes({ homeRegion, homeCredentials: ecs.config.credentials, assumeRole, build: (scope) => new ECSClient(…) });
 * const clients = await scopes.get(parseAwsCredentials(configuration.extra.aws_credentials));
 */
export const createAwsScopes = <T>(options: AwsScopesOptions<T>): AwsScopes<T> => {
  const now = options.now ?? (() => new Date());
  const homeScope: AwsScope = {
    key: 'home',
    home: true,
    region: options.homeRegion,
    account: undefined,
    credentials: undefined,
    endpoint: undefined,
    tuning: {},
    settings: null,
  };
  const home = options.home ?? options.build(homeScope);
  const entries = new Map<string, Entry<T>>();
  const keyOf = (settings: AwsCredentialsSettings | null, region: string) =>
    `${settings?.key ?? 'home'}@${region}`;

  const assumer = (settings: AwsCredentialsSettings) => {
    const request = settings.assumeRole;
    if (!request) return undefined;
    const allowed = options.allowedRoleArns;
    if (allowed && !allowed.includes(request.RoleArn)) {
      throw new AssumeRoleError(
        `Could not assume ${request.RoleArn}: the stack may not assume it. Add it to the stack parameter assumeRoleArns (ASSUME_ROLE_ARNS lists ${allowed.length === 0 ? 'no role' : allowed.join(', ')}) and deploy again.`,
        'RoleNotAllowed',
        false
      );
    }
    const keys = settings.accessKeys;
    const base = keys ? async () => keys : options.homeCredentials;
    // Prefect's default session name: one per scope, as a boto3 session gets one per client.
    const sessionName =
      request.RoleSessionName ?? `prefect-session-${randomBytes(4).toString('hex')}`;
    let current: Promise<AssumedCredentials> | undefined;
    let assumedAt: number | undefined;
    const forget = (): number | undefined => {
      const age = assumedAt === undefined ? undefined : now().getTime() - assumedAt;
      current = undefined;
      assumedAt = undefined;
      return age;
    };
    const fresh = (): Promise<AssumedCredentials> => {
      const reuse = current;
      if (reuse) {
        return reuse.then((credentials) =>
          credentials.expiration.getTime() - now().getTime() > REFRESH_BEFORE_MS
            ? credentials
            : refresh(reuse)
        );
      }
      return refresh(undefined);
    };
    function refresh(stale: Promise<AssumedCredentials> | undefined): Promise<AssumedCredentials> {
      // Single flight: concurrent callers that saw the same stale value share one AssumeRole.
      if (current !== stale && current !== undefined) return current;
      const next = options.assumeRole({ ...request, RoleSessionName: sessionName } as never, base);
      current = next;
      next.then(
        () => {
          if (current === next) assumedAt = now().getTime();
        },
        () => {
          if (current === next) current = undefined;
        }
      );
      return next;
    }
    return { fresh, forget };
  };

  return {
    home,
    async get(settings, region) {
      const scopeRegion = region ?? settings?.region ?? options.homeRegion;
      if (scopeRegion === options.homeRegion && (settings === null || settings.key === 'home')) {
        return home;
      }
      const key = keyOf(settings, scopeRegion);
      let entry = entries.get(key);
      if (!entry) {
        const assumed = settings ? assumer(settings) : undefined;
        const keys = settings?.accessKeys;
        const credentials = assumed?.fresh ?? (keys ? async () => keys : undefined);
        const value = options.build({
          key,
          home: false,
          region: scopeRegion,
          account: assumedAccountOf(settings),
          credentials,
          endpoint: settings?.endpointUrl,
          tuning: settings?.tuning ?? {},
          settings,
        });
        entry = {
          value,
          fresh: assumed?.fresh ?? (async () => undefined),
          ...(assumed ? { forget: assumed.forget } : {}),
        };
        if (entries.size >= MAX_SCOPES) entries.delete(entries.keys().next().value as string);
        entries.set(key, entry);
      }
      await entry.fresh();
      return entry.value;
    },
    refused(settings, region) {
      const key = keyOf(settings, region ?? settings?.region ?? options.homeRegion);
      const entry = entries.get(key);
      if (!entry?.forget) return undefined;
      entries.delete(key);
      return entry.forget();
    },
  };
};
