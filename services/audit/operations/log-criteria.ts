/**
 * SI-L4 ("monitoring and auditing in place"): an auditor obtaining a proof, a
 * checkpoint or the log's key from the tamper-evident log is the auditing at
 * work. Claimed only when the answer is given (a refusal shows nothing of it).
 */
export const LOG_READ_CRITERIA = ['SI-L4'] as const;
