/**
 * The workspace the Slack stand-in keeps: its directory (channels, users, usergroups), every
 * channel's messages and threads, ephemeral messages, views and the Block Kit violations found
 * in what was stored. The HTTP side and the faults live in fake-slack.ts.
 */
import { randomBytes } from "node:crypto";
import { type BlockKitSurface, blockKitViolations } from "./block-kit-limits.js";
import {
  FAKE_BOT,
  type FakeSlackOptions,
  type FakeUser,
  type FakeViolation,
  type Json,
} from "./fake-slack.types.js";
import { channelInfo, clone, dmId, err, isTopLevel, str } from "./fake-slack.wire.js";

export class FakeWorkspace {
  readonly violations: FakeViolation[] = [];
  channels = new Map<string, Json>();
  users = new Map<string, FakeUser>();
  usergroups = new Map<string, string[]>();
  freePlan = false;
  /** Per channel, every message (top-level and replies) in ts order. */
  history = new Map<string, Json[]>();
  ephemeralMessages: Json[] = [];
  views = new Map<string, Json>();
  homeViews = new Map<string, string>();
  usedTriggers = new Set<string>();
  /** files.uploadV2: announced uploads by file id, their bytes once POSTed to the upload URL. */
  uploads = new Map<string, { filename: string; length: number; bytes?: Buffer; title?: string }>();
  /** Where the upload URLs point (the stand-in's origin), set when it listens. */
  origin = "";
  private tsSeq = 0;
  private viewSeq = 0;

  constructor(readonly opts: FakeSlackOptions) {
    this.seedDirectory();
  }

  /** Top-level messages of a channel (thread parents included), oldest first, as updated. */
  messages(channel: string): Json[] {
    return this.channelHistory(channel).filter(isTopLevel).map(clone);
  }

  /** Replies in a thread (parent excluded), oldest first. */
  threadReplies(channel: string, threadTs: string): Json[] {
    return this.channelHistory(channel)
      .filter((m) => m.thread_ts === threadTs && m.ts !== threadTs)
      .map(clone);
  }

  /** Ephemeral messages (`chat.postEphemeral`), optionally of one channel and/or user. */
  ephemerals(filter: { channel?: string; user?: string } = {}): Json[] {
    return this.ephemeralMessages
      .filter((m) => (filter.channel ?? m.channel) === m.channel)
      .filter((m) => (filter.user ?? m.user) === m.user)
      .map(clone);
  }

  /** The Home tab last published for a user. */
  lastView(userId: string): Json | undefined {
    const id = this.homeViews.get(userId);
    return id === undefined ? undefined : this.view(id);
  }

  /** A view (modal or home) by id, as last opened, pushed, updated or published. */
  view(viewId: string): Json | undefined {
    const view = this.views.get(viewId);
    return view === undefined ? undefined : clone(view);
  }

  /** Forgets messages, views and violations and restores the configured directory; ts keep growing. */
  clear(): void {
    this.violations.length = 0;
    this.history.clear();
    this.ephemeralMessages = [];
    this.views.clear();
    this.homeViews.clear();
    this.usedTriggers.clear();
    this.uploads.clear();
    this.seedDirectory();
  }

  seedDirectory(): void {
    this.channels = new Map((this.opts.channels ?? []).map((c) => [c.id, channelInfo(c)]));
    this.users = new Map((this.opts.users ?? []).map((u) => [u.id, u]));
    this.usergroups = new Map(Object.entries(this.opts.usergroups ?? {}));
    this.freePlan = this.opts.freePlan ?? false;
  }

  nextTs(): string {
    const first = this.opts.firstTsSec;
    this.tsSeq =
      first === undefined
        ? Math.max(this.tsSeq + 1, Date.now() * 1000)
        : Math.max(this.tsSeq, first * 1_000_000) + 100;
    const sec = Math.floor(this.tsSeq / 1_000_000);
    return `${sec}.${String(this.tsSeq % 1_000_000).padStart(6, "0")}`;
  }

  channelHistory(channel: string): Json[] {
    return this.history.get(channel) ?? [];
  }

  findMessage(channel: string, ts: unknown): Json | undefined {
    return this.channelHistory(channel).find((m) => m.ts === ts);
  }

  /** A user id posts to their DM; a `#name` or known name maps to its id. */
  resolveChannel(value: unknown): string | undefined {
    const channel = str(value);
    if (channel === undefined) return undefined;
    if (/^[UW][A-Z0-9]+$/.test(channel)) return this.openDm([channel]);
    if (/^[CDG][A-Z0-9]+$/.test(channel)) return channel;
    const name = channel.replace(/^#/, "");
    return [...this.channels.values()].find((c) => c.name === name)?.id as string | undefined;
  }

  openDm(userIds: string[]): string {
    const id = dmId(userIds);
    if (!this.channels.has(id)) {
      const single = userIds.length === 1;
      this.channels.set(id, {
        id,
        created: 1_600_000_000,
        is_im: single,
        is_mpim: !single,
        is_open: true,
        ...(single ? { user: userIds[0] } : { is_group: true }),
      });
    }
    return id;
  }

  checkBlocks(method: string, target: string, payload: Json, surface: BlockKitSurface) {
    for (const problem of blockKitViolations(payload, surface)) {
      this.violations.push({ method, target, problem });
    }
  }

  storeView(method: string, body: Json, existing?: Json): Json | string {
    const view = body.view;
    if (typeof view !== "object" || view === null) return "invalid_arguments";
    const v = view as Json;
    this.viewSeq += 1;
    const id = (existing?.id as string) ?? `V${String(this.viewSeq).padStart(10, "0")}`;
    const stored: Json = {
      team_id: FAKE_BOT.teamId,
      private_metadata: "",
      callback_id: "",
      external_id: "",
      clear_on_close: false,
      notify_on_close: false,
      previous_view_id: null,
      root_view_id: existing?.root_view_id ?? id,
      app_id: FAKE_BOT.appId,
      app_installed_team_id: FAKE_BOT.teamId,
      bot_id: FAKE_BOT.botId,
      ...v,
      id,
      state: { values: {} },
      hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString("hex")}`,
    };
    const surface: BlockKitSurface = stored.type === "home" ? "home" : "modal";
    this.checkBlocks(method, id, stored, surface);
    this.views.set(id, stored);
    return stored;
  }
  openView(b: Json, method: string): Json {
    const trigger = str(b.trigger_id);
    if (trigger === undefined) return err("invalid_arguments");
    if (this.usedTriggers.has(trigger)) return err("exchanged_trigger_id");
    const view = this.storeView(method, b);
    if (typeof view === "string") return err(view);
    this.usedTriggers.add(trigger);
    return { ok: true, view: clone(view) };
  }
}
