/**
 * The Web API methods the Slack stand-in answers, over the workspace it keeps. Each takes the
 * parsed body (token removed) and returns Slack's JSON reply.
 */
import { FAKE_BOT, type Json } from "./fake-slack.types.js";
import {
  clone,
  compact,
  dmId,
  err,
  invalidContent,
  isTopLevel,
  str,
  truthy,
  tsMicros,
  tzOffsetSec,
  withoutMetadataUnless,
} from "./fake-slack.wire.js";
import type { FakeWorkspace } from "./fake-workspace.js";

export type WebApiMethod = (body: Json) => Json;

export function webApiMethods(ws: FakeWorkspace): Record<string, WebApiMethod> {
  return {
    "auth.test": () => ({
      ok: true,
      url: "https://fake.slack.test/",
      team: "syncdesk test",
      user: "syncdesk",
      team_id: FAKE_BOT.teamId,
      user_id: FAKE_BOT.userId,
      bot_id: FAKE_BOT.botId,
      is_enterprise_install: false,
    }),

    "chat.postMessage": (b) => {
      const channel = ws.resolveChannel(b.channel);
      if (channel === undefined) return err("channel_not_found");
      const invalid = invalidContent(b);
      if (invalid) return err(invalid);
      const ts = ws.nextTs();
      const threadTs = str(b.thread_ts);
      ws.checkBlocks("chat.postMessage", `${channel}/${ts}`, b, "message");
      const message = compact({
        type: "message",
        subtype: threadTs && truthy(b.reply_broadcast) ? "thread_broadcast" : undefined,
        user: FAKE_BOT.userId,
        bot_id: FAKE_BOT.botId,
        app_id: FAKE_BOT.appId,
        team: FAKE_BOT.teamId,
        text: typeof b.text === "string" ? b.text : "",
        blocks: b.blocks,
        attachments: b.attachments,
        metadata: b.metadata,
        username: b.username,
        thread_ts: threadTs,
        ts,
      });
      const parent = threadTs ? ws.findMessage(channel, threadTs) : undefined;
      if (parent) {
        const replyUsers = new Set([...((parent.reply_users as string[]) ?? []), FAKE_BOT.userId]);
        Object.assign(parent, {
          thread_ts: parent.ts,
          reply_count: Number(parent.reply_count ?? 0) + 1,
          reply_users: [...replyUsers],
          reply_users_count: replyUsers.size,
          latest_reply: ts,
        });
      }
      ws.history.set(channel, [...ws.channelHistory(channel), message]);
      return { ok: true, channel, ts, message: clone(message) };
    },

    // files.uploadV2 is three steps: an upload URL per file, the bytes POSTed there (the
    // stand-in's /upload/<id>), then completeUploadExternal shares the files in a channel.
    "files.getUploadURLExternal": (b) => {
      const filename = str(b.filename);
      const length = Number(b.length);
      if (!filename || !Number.isInteger(length) || length < 1) return err("invalid_arguments");
      const id = `F${String(ws.uploads.size + 1).padStart(8, "0")}`;
      ws.uploads.set(id, { filename, length });
      return { ok: true, upload_url: `${ws.origin}/upload/${id}`, file_id: id };
    },

    "files.completeUploadExternal": (b) => {
      const files = Array.isArray(b.files) ? (b.files as Json[]) : undefined;
      if (!files || files.length === 0) return err("invalid_arguments");
      const uploaded = files.map((file) => ({
        id: str(file.id) ?? "",
        upload: ws.uploads.get(str(file.id) ?? ""),
      }));
      if (uploaded.some((file) => !file.upload?.bytes)) return err("file_not_found");
      const shared = uploaded.map(({ id, upload }) => {
        if (upload)
          upload.title = str(files.find((file) => file.id === id)?.title) ?? upload.filename;
        return { id, name: upload?.filename, title: upload?.title, size: upload?.bytes?.length };
      });
      const channelId = str(b.channel_id);
      if (channelId !== undefined) {
        const channel = ws.resolveChannel(channelId);
        if (channel === undefined) return err("channel_not_found");
        const ts = ws.nextTs();
        const message = compact({
          type: "message",
          user: FAKE_BOT.userId,
          text: str(b.initial_comment) ?? "",
          files: shared,
          thread_ts: str(b.thread_ts),
          ts,
        });
        ws.history.set(channel, [...ws.channelHistory(channel), message]);
      }
      return { ok: true, files: shared };
    },

    "chat.update": (b) => {
      const channel = ws.resolveChannel(b.channel);
      const message = channel === undefined ? undefined : ws.findMessage(channel, b.ts);
      if (channel === undefined) return err("channel_not_found");
      if (!message) return err("message_not_found");
      const invalid = invalidContent({ text: "kept", ...b });
      if (invalid) return err(invalid);
      for (const field of ["text", "blocks", "attachments", "metadata"]) {
        if (b[field] !== undefined) message[field] = b[field];
      }
      message.edited = { user: FAKE_BOT.userId, ts: ws.nextTs() };
      ws.checkBlocks("chat.update", `${channel}/${message.ts}`, message, "message");
      return { ok: true, channel, ts: message.ts, text: message.text, message: clone(message) };
    },

    "chat.delete": (b) => {
      const channel = ws.resolveChannel(b.channel);
      const message = channel === undefined ? undefined : ws.findMessage(channel, b.ts);
      if (channel === undefined || !message) return err("message_not_found");
      ws.history.set(
        channel,
        ws.channelHistory(channel).filter((m) => m !== message),
      );
      if (!isTopLevel(message)) {
        const parent = ws.findMessage(channel, message.thread_ts);
        if (parent) parent.reply_count = Math.max(0, Number(parent.reply_count ?? 1) - 1);
      }
      return { ok: true, channel, ts: message.ts };
    },

    "chat.postEphemeral": (b) => {
      const channel = ws.resolveChannel(b.channel);
      if (channel === undefined) return err("channel_not_found");
      if (str(b.user) === undefined) return err("user_not_in_channel");
      const invalid = invalidContent(b);
      if (invalid) return err(invalid);
      const ts = ws.nextTs();
      ws.checkBlocks("chat.postEphemeral", `${channel}/${ts}`, b, "message");
      ws.ephemeralMessages.push(
        compact({
          channel,
          user: b.user,
          ts,
          text: b.text ?? "",
          blocks: b.blocks,
          attachments: b.attachments,
          thread_ts: str(b.thread_ts),
        }),
      );
      return { ok: true, message_ts: ts };
    },

    "chat.getPermalink": (b) => {
      const channel = ws.resolveChannel(b.channel);
      const message = channel === undefined ? undefined : ws.findMessage(channel, b.message_ts);
      if (channel === undefined) return err("channel_not_found");
      if (!message) return err("message_not_found");
      const ts = String(message.ts);
      const thread =
        message.thread_ts && message.thread_ts !== ts
          ? `?thread_ts=${message.thread_ts}&cid=${channel}`
          : "";
      const permalink = `https://fake.slack.test/archives/${channel}/p${ts.replace(".", "")}${thread}`;
      return { ok: true, channel, permalink };
    },

    "conversations.open": (b) => {
      const users = (str(b.users) ?? "").split(",").filter(Boolean);
      if (users.length === 0) return err("users_list_not_supplied");
      const existed = ws.channels.has(dmId(users));
      const id = ws.openDm(users);
      const channel = truthy(b.return_im) ? clone(ws.channels.get(id)) : { id };
      return { ok: true, ...(existed ? { no_op: true, already_open: true } : {}), channel };
    },

    "conversations.info": (b) => {
      const channel = ws.channels.get(String(b.channel));
      return channel ? { ok: true, channel: clone(channel) } : err("channel_not_found");
    },

    "conversations.history": (b) => {
      const channel = String(b.channel);
      if (!ws.channels.has(channel) && !ws.history.has(channel)) {
        return err("channel_not_found");
      }
      const inclusive = truthy(b.inclusive);
      const oldest = str(b.oldest) ? tsMicros(String(b.oldest)) : Number.NEGATIVE_INFINITY;
      const latest = str(b.latest) ? tsMicros(String(b.latest)) : Number.POSITIVE_INFINITY;
      const inRange = (m: Json) => {
        const t = tsMicros(String(m.ts));
        return inclusive ? t >= oldest && t <= latest : t > oldest && t < latest;
      };
      const all = ws
        .channelHistory(channel)
        .filter((m) => isTopLevel(m) || m.subtype === "thread_broadcast")
        .filter(inRange)
        .reverse();
      const limit = Math.min(Number(b.limit ?? 100) || 100, 999);
      const offset = str(b.cursor)
        ? Number(Buffer.from(String(b.cursor), "base64").toString().slice(7))
        : 0;
      const page = all.slice(offset, offset + limit);
      const hasMore = offset + limit < all.length;
      const nextCursor = hasMore ? Buffer.from(`offset:${offset + limit}`).toString("base64") : "";
      return {
        ok: true,
        messages: page.map((m) => withoutMetadataUnless(m, truthy(b.include_all_metadata))),
        has_more: hasMore,
        pin_count: 0,
        channel_actions_ts: null,
        channel_actions_count: 0,
        response_metadata: { next_cursor: nextCursor },
      };
    },

    "conversations.replies": (b) => {
      const channel = String(b.channel);
      const parent = ws.findMessage(channel, b.ts);
      if (!parent) return err("thread_not_found");
      const thread = [parent, ...ws.threadReplies(channel, String(parent.ts))];
      const metadata = truthy(b.include_all_metadata);
      return {
        ok: true,
        messages: thread.map((m) => withoutMetadataUnless(m, metadata)),
        has_more: false,
        response_metadata: { next_cursor: "" },
      };
    },

    "users.info": (b) => {
      const id = String(b.user ?? "");
      const known = ws.users.get(id);
      if (!known && !/^[UW][A-Z0-9]+$/.test(id)) return err("user_not_found");
      const tz = known?.tz ?? ws.opts.defaultTz ?? "UTC";
      const name = known?.name ?? id.toLowerCase();
      const realName = known?.real_name ?? `User ${id}`;
      return {
        ok: true,
        user: {
          id,
          team_id: FAKE_BOT.teamId,
          name,
          real_name: realName,
          deleted: false,
          is_bot: false,
          is_admin: false,
          tz,
          tz_label: tz,
          tz_offset: tzOffsetSec(tz, new Date()),
          profile: { real_name: realName, display_name: name },
          ...known,
        },
      };
    },

    "usergroups.users.list": (b) => {
      if (ws.freePlan) return err("plan_upgrade_required");
      const users = ws.usergroups.get(String(b.usergroup));
      return users ? { ok: true, users: [...users] } : err("no_such_subteam");
    },

    "views.open": (b) => ws.openView(b, "views.open"),
    "views.push": (b) => ws.openView(b, "views.push"),

    "views.update": (b) => {
      const existing =
        ws.views.get(String(b.view_id)) ??
        [...ws.views.values()].find((v) => str(b.external_id) && v.external_id === b.external_id);
      if (!existing) return err("not_found");
      if (str(b.hash) && b.hash !== existing.hash) return err("hash_conflict");
      const view = ws.storeView("views.update", b, existing);
      return typeof view === "string" ? err(view) : { ok: true, view: clone(view) };
    },

    "views.publish": (b) => {
      const userId = str(b.user_id);
      if (userId === undefined) return err("invalid_arguments");
      const existingId = ws.homeViews.get(userId);
      const existing = existingId === undefined ? undefined : ws.views.get(existingId);
      if (existing && str(b.hash) && b.hash !== existing.hash) return err("hash_conflict");
      const view = ws.storeView("views.publish", b, existing);
      if (typeof view === "string") return err(view);
      ws.homeViews.set(userId, String(view.id));
      return { ok: true, view: clone(view) };
    },
  };
}
