/**
 * The failure-event contract, as the desk reads it. Its single definition is the producer kit
 * (`packages/contract`, the npm workspace `@syncdesk/contract`), which producers install; this
 * module names the part of it the desk's ground floor uses (the database stores events whole in
 * typed JSON columns, so src/platform/db names their type from here).
 */
export {
  DEFAULT_FAILURE_QUEUE,
  FAILURE_EVENT_VERSIONS,
  FAILURE_JOB_OPTIONS,
  FAILURE_MODES,
  FAILURE_QUEUE,
  type FailureEvent,
  type FailureEventInput,
  type FailureMode,
  failureEventSchema,
  failureJobId,
  instant,
  reportSyncFailure,
} from "@syncdesk/contract";
