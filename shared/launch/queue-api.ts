/** The launch queue, as the launcher needs it: only to schedule a failed record's next delivery. */
export interface QueueApi {
  /** Makes a received message visible again after `seconds` (0–43200). */
  changeVisibility(receiptHandle: string, seconds: number): Promise<void>;
}
