/** The BullMQ queue every Herald worker consumes; Node backends add jobs to it directly. */
export const QUEUE_NAME = "herald-notifications";

/** BullMQ job name Herald uses; workers accept any name, so backends may pick their own. */
export const JOB_NAME = "notification";
