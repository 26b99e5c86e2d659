/**
 * The failure-event contract, where producers have always imported it from. Its definition
 * sits on the ground floor (src/platform/contracts/) because the database stores events whole
 * in typed JSON columns (`exceptions.latest_event`), and the schema module, which is platform,
 * must not import a feature to name their type.
 */
export * from "../platform/contracts/failure-event.schema.js";
