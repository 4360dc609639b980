/**
 * Where an AWS resource lives, from its ARN (`arn:<partition>:<service>:<region>:<account>:…`): the
 * account and region a run's task, cluster, role or secret belongs to, to compare with where a
 * run's credentials reach.
 */

/** An ARN's account and region (region `''` for global services such as IAM). */
export interface ArnPlace {
  account: string;
  region: string;
}

/**
 * @example
 * placeOfArn('arn:aws:ecs:eu-west-1:210987654321:task/prefect/0a1b'); // { account: '210987654321', region: 'eu-west-1' }
 * placeOfArn('prefect'); // undefined
 */
export const placeOfArn = (arn: string | null | undefined): ArnPlace | undefined => {
  const match = arn ? /^arn:[^:]+:[^:]*:([^:]*):(\d{12}):/.exec(arn) : null;
  return match?.[2] === undefined ? undefined : { region: match[1] ?? '', account: match[2] };
};
