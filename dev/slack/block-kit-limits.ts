/**
 * Slack's Block Kit limits as a pure check. Slack answers `invalid_blocks` (or silently truncates)
 * when a payload breaks them; this lists the problems before Slack does, so card builders can be
 * unit-tested against the limits and the fake Slack can flag violations in integration tests.
 *
 * Covers the limits syncdesk's builders can plausibly hit, not the whole Block Kit schema.
 */

export type BlockKitSurface = "message" | "modal" | "home";

export interface BlockKitPayload {
  text?: unknown;
  blocks?: unknown;
  /** Modal only: `title`, `submit`, `close` are plain_text objects of at most 24 chars. */
  title?: unknown;
  submit?: unknown;
  close?: unknown;
}

export const BLOCK_KIT_LIMITS = {
  blocksPerMessage: 50,
  blocksPerView: 100,
  messageText: 40_000,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  id: 255,
  modalTitle: 24,
} as const;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isTextObject = (value: unknown): boolean =>
  isObject(value) &&
  (value.type === "mrkdwn" || value.type === "plain_text") &&
  typeof value.text === "string";

const textOf = (obj: unknown): string | undefined =>
  isObject(obj) && typeof obj.text === "string" ? obj.text : undefined;

/** Every Block Kit limit `payload` breaks on `surface`; empty when it is fine. */
export function blockKitViolations(payload: BlockKitPayload, surface: BlockKitSurface): string[] {
  const problems: string[] = [];
  const L = BLOCK_KIT_LIMITS;

  if (payload.blocks !== undefined && !Array.isArray(payload.blocks)) {
    problems.push("blocks must be an array");
  }
  const blocks: unknown[] = Array.isArray(payload.blocks) ? payload.blocks : [];
  const maxBlocks = surface === "message" ? L.blocksPerMessage : L.blocksPerView;
  if (blocks.length > maxBlocks) {
    problems.push(`${blocks.length} blocks, limit ${maxBlocks} per ${surface}`);
  }

  if (surface === "message") {
    const text = payload.text;
    if (blocks.length > 0 && (typeof text !== "string" || text.trim() === "")) {
      problems.push("blocks without a top-level text fallback (notifications show nothing)");
    }
    if (typeof text === "string" && text.length > L.messageText) {
      problems.push(`text is ${text.length} chars, limit ${L.messageText}`);
    }
  }

  if (surface === "modal") {
    const title = textOf(payload.title);
    if (title === undefined) problems.push("modal without a title");
    checkViewText(problems, "title", payload.title);
    checkViewText(problems, "submit", payload.submit);
    checkViewText(problems, "close", payload.close);
  }

  const blockIds = new Set<string>();
  blocks.forEach((block, index) => {
    if (!isObject(block) || typeof block.type !== "string") {
      problems.push(`blocks[${index}] is not a block (no type)`);
      return;
    }
    const where = `blocks[${index}] (${block.type}${typeof block.block_id === "string" ? ` "${block.block_id}"` : ""})`;
    if (typeof block.block_id === "string") {
      if (block.block_id.length > L.id) {
        problems.push(`${where}: block_id is ${block.block_id.length} chars, limit ${L.id}`);
      }
      if (blockIds.has(block.block_id)) problems.push(`${where}: duplicate block_id`);
      blockIds.add(block.block_id);
    }
    checkBlock(problems, where, block);
  });
  return problems;
}

function checkViewText(problems: string[], field: string, obj: unknown): void {
  if (obj === undefined) return;
  if (!isObject(obj) || obj.type !== "plain_text") {
    problems.push(`modal ${field} must be a plain_text object`);
  }
  const text = textOf(obj);
  if (text !== undefined && text.length > BLOCK_KIT_LIMITS.modalTitle) {
    problems.push(`modal ${field} is ${text.length} chars, limit ${BLOCK_KIT_LIMITS.modalTitle}`);
  }
}

function checkBlock(problems: string[], where: string, block: Json): void {
  const L = BLOCK_KIT_LIMITS;
  switch (block.type) {
    case "section": {
      const text = textOf(block.text);
      const fields = Array.isArray(block.fields) ? block.fields : undefined;
      if (text === undefined && fields === undefined) {
        problems.push(`${where}: needs text or fields`);
      }
      if (text !== undefined && text.length > L.sectionText) {
        problems.push(`${where}: text is ${text.length} chars, limit ${L.sectionText}`);
      }
      if (fields !== undefined) {
        if (fields.length > L.sectionFields) {
          problems.push(`${where}: ${fields.length} fields, limit ${L.sectionFields}`);
        }
        fields.forEach((field, i) => {
          if (!isTextObject(field)) {
            problems.push(`${where}: fields[${i}] must be a mrkdwn or plain_text object`);
          }
          const fieldText = textOf(field) ?? "";
          if (fieldText.length > L.sectionFieldText) {
            problems.push(
              `${where}: fields[${i}] is ${fieldText.length} chars, limit ${L.sectionFieldText}`,
            );
          }
        });
      }
      if (block.accessory !== undefined) checkElements(problems, where, [block.accessory]);
      return;
    }
    case "header": {
      if (!isObject(block.text) || block.text.type !== "plain_text") {
        problems.push(`${where}: text must be plain_text`);
      }
      const text = textOf(block.text) ?? "";
      if (text.length > L.headerText) {
        problems.push(`${where}: text is ${text.length} chars, limit ${L.headerText}`);
      }
      return;
    }
    case "context": {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      if (elements.length > L.contextElements) {
        problems.push(`${where}: ${elements.length} elements, limit ${L.contextElements}`);
      }
      elements.forEach((element, i) => {
        if (!isObject(element) || (!isTextObject(element) && element.type !== "image")) {
          problems.push(`${where}: elements[${i}] must be a text or image element`);
        }
      });
      return;
    }
    case "actions": {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      if (elements.length > L.actionsElements) {
        problems.push(`${where}: ${elements.length} elements, limit ${L.actionsElements}`);
      }
      checkElements(problems, where, elements);
      return;
    }
    case "input": {
      if (block.element !== undefined) checkElements(problems, where, [block.element]);
      return;
    }
    default:
      // Other block types (divider, image, rich_text, ...) have no limit syncdesk can hit.
      return;
  }
}

/** Interactive elements of one block: action_id length and uniqueness, button limits. */
function checkElements(problems: string[], where: string, elements: unknown[]): void {
  const L = BLOCK_KIT_LIMITS;
  const actionIds = new Set<string>();
  elements.forEach((element, i) => {
    if (!isObject(element)) return;
    const at = `${where} element ${i}`;
    if (typeof element.action_id === "string") {
      if (element.action_id.length > L.id) {
        problems.push(`${at}: action_id is ${element.action_id.length} chars, limit ${L.id}`);
      }
      if (actionIds.has(element.action_id)) {
        problems.push(`${at}: duplicate action_id "${element.action_id}" in one block`);
      }
      actionIds.add(element.action_id);
    }
    if (element.type !== "button") return;
    if (!isObject(element.text) || element.text.type !== "plain_text") {
      problems.push(`${at}: button text must be plain_text`);
    }
    const text = textOf(element.text) ?? "";
    if (text.length > L.buttonText) {
      problems.push(`${at}: button text is ${text.length} chars, limit ${L.buttonText}`);
    }
    if (typeof element.value === "string" && element.value.length > L.buttonValue) {
      problems.push(`${at}: button value is ${element.value.length} chars, limit ${L.buttonValue}`);
    }
    if (typeof element.url === "string" && element.url.length > L.buttonUrl) {
      problems.push(`${at}: button url is ${element.url.length} chars, limit ${L.buttonUrl}`);
    }
    if (element.confirm !== undefined) checkConfirm(problems, `${at}.confirm`, element.confirm);
  });
}

/** A confirmation dialog: title, text, confirm and deny, each within its limit. */
function checkConfirm(problems: string[], at: string, confirm: unknown): void {
  const L = BLOCK_KIT_LIMITS;
  if (!isObject(confirm)) {
    problems.push(`${at}: must be an object`);
    return;
  }
  const parts = [
    ["title", L.confirmTitle],
    ["text", L.confirmText],
    ["confirm", L.confirmButton],
    ["deny", L.confirmButton],
  ] as const;
  for (const [key, limit] of parts) {
    const text = textOf(confirm[key]);
    if (text === undefined) problems.push(`${at}.${key}: missing text object`);
    else if (text.length > limit)
      problems.push(`${at}.${key}: ${text.length} chars, limit ${limit}`);
  }
  for (const key of ["title", "confirm", "deny"] as const) {
    const part = confirm[key];
    if (isObject(part) && part.type !== "plain_text")
      problems.push(`${at}.${key}: must be plain_text`);
  }
}
