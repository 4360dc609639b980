/**
 * When a claimed run's launch message becomes visible to the launcher: at the scheduled time minus
 * the lead, as an SQS message timer (`DelaySeconds`, 0–900 s on a standard queue).
 */

/** SQS's longest message timer. */
export const MAX_LAUNCH_DELAY_SECONDS = 900;

/**
 * `clamp(round(scheduled − now − lead), 0, 900)` in whole seconds: a run already due (or due within
 * the lead) is launched at once; one further ahead than 15 minutes at the latest timer (the orphan
 * sweep's wait starts from its due time, so it is not mistaken for an orphan).
 *
 * @example
 * launchDelaySeconds(new Date('2026-08-21T12:00:45Z'), new Date('2026-08-21T12:00:00Z'), 0); // 45
 */
export const launchDelaySeconds = (scheduled: Date, now: Date, leadSeconds: number): number => {
  const seconds = Math.round((scheduled.getTime() - now.getTime()) / 1000 - leadSeconds);
  if (Number.isNaN(seconds)) return 0;
  return Math.min(MAX_LAUNCH_DELAY_SECONDS, Math.max(0, seconds));
};
