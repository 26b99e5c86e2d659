/**
 * The failure-event contract, where the desk's features import it from. Its one definition is
 * the producer kit (packages/contract, `@syncdesk/contract`), which producers install; the
 * ground floor re-exports it (src/platform/contracts/) because the database stores events whole
 * in typed JSON columns, and the schema module, which is platform, must not import a feature.
 */
export * from "../platform/contracts/failure-event.schema.js";
