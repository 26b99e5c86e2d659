/**
 * The delivery contract (`sync.succeeded`, `sync.started`, `sync.batch` on
 * `inventory-sync-outcomes`), as the desk reads it. Its single definition is the producer kit
 * (`packages/contract`, the npm workspace `@syncdesk/contract`), which producers install.
 */
export {
  batchEventSchema,
  DEFAULT_OUTCOME_QUEUE,
  DELIVERY_JOB_OPTIONS,
  type DeliveryEvent,
  type DeliveryEventInput,
  deliveryEventSchema,
  MAX_BATCH_EVENTS,
  OUTCOME_QUEUE,
  type OutcomeEvent,
  type OutcomeEventInput,
  outcomeEventSchema,
  reportDeliveries,
  reportSyncBatch,
  reportSyncStarted,
  reportSyncSuccess,
  type StartedEvent,
  type StartedEventInput,
  startedEventSchema,
} from "@syncdesk/contract";
