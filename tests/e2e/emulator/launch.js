#!/usr/bin/env node
'use strict';

/*
 * Launcher for liveblog-bot's end-to-end tests: runs the telegram-test-api emulator (npm, MIT,
 * pinned at 4.2.1) on 127.0.0.1 with an OS-chosen port, and corrects on the wire the places
 * where 4.2.1 answers differently from the real Bot API in ways python-telegram-bot 22 cannot
 * parse or that make tests slow or flaky.
 *
 *   node launch.js [--port N] [--host H] [--watch-stdin]
 *
 * Prints exactly one line on stdout once ready:  LISTENING http://127.0.0.1:PORT
 * Logs go to stderr (set DEBUG=TelegramServer:* for upstream's own request log).
 * --watch-stdin: exit when stdin closes, so an emulator whose test process died does not linger.
 *
 * Layout of one HTTP server:
 *   /bot<token>/<method>  Bot API (what the bot under test calls): upstream's routes behind
 *                         our corrections, plus a few methods upstream lacks.
 *   /sendMessage, /sendCommand, /sendCallback, /getUpdates, /getUpdatesHistory
 *                         upstream's client API (what a test, acting as a user, calls).
 *   /_test/...            test-control endpoints of our own; NOT Bot API.
 */

const http = require('http');
const path = require('path');

const PINNED_VERSION = '4.2.1';
const INSTALL_HINT = 'run `npm ci --prefix tests/e2e/emulator` from the repository root';

function die(message) {
  process.stderr.write(`launch.js: ${message}\n`);
  process.exit(2);
}

let upstreamPackage;
try {
  upstreamPackage = require('telegram-test-api/package.json');
} catch (err) {
  die(`telegram-test-api is not installed (${err.code || err.message}); ${INSTALL_HINT}`);
}
if (upstreamPackage.version !== PINNED_VERSION) {
  // Every correction below was written against 4.2.1's source; another version needs a review.
  die(`telegram-test-api ${upstreamPackage.version} found, ${PINNED_VERSION} expected; ${INSTALL_HINT}`);
}
const TelegramServer = require('telegram-test-api');
// express and axios are upstream's own dependencies: resolve them from its location so we
// use the very copies it uses (and add no dependency of our own).
const upstreamDir = path.dirname(require.resolve('telegram-test-api'));
const express = require(require.resolve('express', { paths: [upstreamDir] }));
const axios = require(require.resolve('axios', { paths: [upstreamDir] }));

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const args = { port: 0, host: '127.0.0.1', watchStdin: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--port') args.port = Number(argv[++i]);
    else if (argv[i] === '--host') args.host = argv[++i];
    else if (argv[i] === '--watch-stdin') args.watchStdin = true;
    else die(`unknown argument ${argv[i]}`);
  }
  if (!Number.isInteger(args.port) || args.port < 0) die('--port needs a number >= 0');
  return args;
}
const args = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------------------------------------
// The upstream emulator
// ---------------------------------------------------------------------------------------------

// FIX (message expiry): upstream drops stored messages older than `storeTimeout` seconds
// (default 60) from a cleanup timer that start() arms. Real Telegram keeps a chat's messages;
// a test run must not lose them. We never call upstream's start() (see "Listening" below), so
// the cleanup timer never runs, and the store timeout is raised to a day in case cleanUp() is
// ever called.
const STORE_TIMEOUT_SECONDS = 24 * 60 * 60;
const upstream = new TelegramServer({ host: args.host, storeTimeout: STORE_TIMEOUT_SECONDS });

// Upstream's getMe identity; every bot token gets the same one.
const BOT_USER = { id: 666, is_bot: true, first_name: 'Test First name', username: 'TestNameBot' };

// FIX (update shape): upstream's formatUpdate() builds both getUpdates answers and webhook
// bodies. Patching this one static function corrects both delivery paths.
const upstreamFormatUpdate = TelegramServer.formatUpdate;
TelegramServer.formatUpdate = function formatUpdate(update) {
  if ('inlineQuery' in update) {
    // Our addition: upstream has no inline queries at all (see /_test/sendInlineQuery).
    return { update_id: update.updateId, inline_query: update.inlineQuery };
  }
  if ('editedMessage' in update) {
    // Our addition: upstream has no edits of user messages (see /_test/editMessage).
    return { update_id: update.updateId, edited_message: update.editedMessage };
  }
  if ('myChatMember' in update) {
    // Our addition: the bot's own membership changed (see /_test/myChatMember).
    return { update_id: update.updateId, my_chat_member: update.myChatMember };
  }
  if ('channelPost' in update) {
    // Our addition: upstream has no channels (see /_test/sendChannelPost).
    const field = update.channelPost.edit_date ? 'edited_channel_post' : 'channel_post';
    return { update_id: update.updateId, [field]: update.channelPost };
  }
  const formatted = upstreamFormatUpdate.call(this, update);
  if (formatted.callback_query && formatted.callback_query.chat_instance === undefined) {
    // FIX (chat_instance): upstream's callback_query lacks `chat_instance`, which the Bot API
    // always sends ("global identifier, uniquely corresponding to the chat to which the
    // message with the callback button was sent") and PTB requires. Derive it from that chat.
    const given = update.callbackQuery.chat_instance;
    const chat = formatted.callback_query.message && formatted.callback_query.message.chat;
    formatted.callback_query.chat_instance = String(given || (chat ? chat.id : 0));
  }
  if (formatted.message) {
    // FIX (stray field): upstream copies the client's request body, including its `botToken`,
    // into the message it hands the bot. Telegram messages have no such field.
    delete formatted.message.botToken;
  }
  return formatted;
};

// Webhooks: upstream POSTs each user update to the URL given to setWebhook (with axios).
// FIX (secret token): upstream ignores setWebhook's `secret_token`; Telegram sends it back in
// the X-Telegram-Bot-Api-Secret-Token header of every webhook request, and PTB's webhook server
// answers 403 without it. Add the header to upstream's outgoing webhook requests.
axios.interceptors.request.use((config) => {
  const hook = Object.values(upstream.webhooks).find((w) => w.url === config.url);
  if (hook && hook.secret_token) {
    config.headers = config.headers || {};
    config.headers['X-Telegram-Bot-Api-Secret-Token'] = hook.secret_token;
  }
  return config;
});

// ---------------------------------------------------------------------------------------------
// Test-control state (our own, not Bot API)
// ---------------------------------------------------------------------------------------------

const control = {
  blockedChats: new Set(), // chat ids (strings) whose every Bot API call answers 403
  members: new Map(), // "chat:user" -> ChatMember JSON returned by getChatMember
  floods: [], // {method, token|null, retryAfter, remaining}: next calls answer 429
  calls: [], // log of Bot API calls: {token, method, params, status, at}
  inlineQueries: new Map(), // inline_query_id -> {token, answer|null}
  commands: new Map(), // token -> BotCommand[] (setMyCommands)
  chats: new Map(), // chat id (string) and "@username" (lowercase) -> Chat JSON for getChat
  revokedTokens: new Set(), // tokens whose every Bot API call answers 401 Unauthorized
  deletedTopics: new Set(), // "chat:thread" whose sendMessage answers 400 thread not found
  nextInlineQueryId: 1,
};
const MAX_LOGGED_CALLS = 10000;

function resetControl() {
  control.blockedChats.clear();
  control.members.clear();
  control.floods = [];
  control.calls = [];
  control.inlineQueries.clear();
  control.commands.clear();
  control.chats.clear();
  control.revokedTokens.clear();
  control.deletedTopics.clear();
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Bot API parameters may come as query string, form or JSON (PTB sends a form). */
function params(req) {
  return { ...req.query, ...(req.body || {}) };
}

/** Some Bot API parameters arrive JSON-encoded inside a form (PTB does that for objects). */
function parseJsonParam(value) {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (err) {
    return value;
  }
}

/** Answer like the Bot API answers an error: the HTTP status equals error_code. */
function fail(res, code, description, parameters) {
  const body = { ok: false, error_code: code, description };
  if (parameters) body.parameters = parameters;
  res.status(code).json(body);
}

/** Transform `result` of a successful answer that upstream will produce later in the chain. */
function onResult(res, transform) {
  const json = res.json.bind(res);
  res.json = (body) => {
    if (body && body.ok === true) return json({ ...body, result: transform(body.result) });
    return json(body);
  };
}

function findBotMessage(token, chatId, messageId) {
  return upstream.storage.botMessages.find((u) => u.botToken === token
    && String(u.messageId) === String(messageId)
    && String(u.message.chat_id) === String(chatId));
}

/** A stored bot message as a Telegram Message, in the shape of upstream's sendMessage result. */
function toTelegramMessage(stored, edited) {
  const m = stored.message;
  const msg = {
    message_id: stored.messageId,
    from: BOT_USER,
    chat: { id: Number(m.chat_id), first_name: 'Bot', type: 'private' },
    date: Math.floor(stored.time / 1000),
    text: m.text,
  };
  if (edited) msg.edit_date = Math.floor(Date.now() / 1000);
  if (m.reply_markup && 'inline_keyboard' in m.reply_markup) msg.reply_markup = m.reply_markup;
  return msg;
}

// ---------------------------------------------------------------------------------------------
// The server: our app in front, upstream's express app mounted behind it
// ---------------------------------------------------------------------------------------------

const app = express();
app.disable('x-powered-by');
app.use(express.json());
app.use(express.urlencoded({ extended: true }));

// FIX (error shape): upstream answers errors as HTTP 500 {"message": ...}, and some Bot API
// errors as HTTP 200 {"ok": false, "error_code": 400, ...}. The Bot API answers
// {"ok": false, "error_code": N, "description": ...} with HTTP status N; PTB reads the
// status to pick the exception and the description for its text (on HTTP 200 it looks for
// `result` and fails with a KeyError).
app.use((req, res, next) => {
  const json = res.json.bind(res);
  res.json = (body) => {
    let out = body;
    if (out && typeof out === 'object' && !('ok' in out) && 'message' in out) {
      out = { ok: false, error_code: res.statusCode, description: out.message };
    }
    if (out && out.ok === false && Number.isInteger(out.error_code)) res.status(out.error_code);
    return json(out);
  };
  next();
});

// ----- test-control endpoints (not Bot API) -------------------------------------------------

const test = express.Router();

/** Describe this emulator: lets a test check the pinned version and the store timeout. */
test.all('/info', (req, res) => {
  res.json({
    ok: true,
    result: {
      upstream_version: upstreamPackage.version,
      store_timeout_seconds: upstream.config.storeTimeout / 1000,
      cleanup_daemon: Boolean(upstream.cleanUpDaemonInterval),
      bot: BOT_USER,
    },
  });
});

/** Forget every hook, call log, inline answer, webhook and stored message. */
test.post('/reset', (req, res) => {
  resetControl();
  upstream.storage.userMessages = [];
  upstream.storage.botMessages = [];
  upstream.webhooks = {};
  res.json({ ok: true, result: true });
});

/** {chat_id, blocked=true}: Bot API calls for that chat answer 403 "bot was blocked". */
test.post('/blockChat', (req, res) => {
  const p = params(req);
  if (p.chat_id === undefined) return fail(res, 400, 'chat_id is required');
  if (p.blocked === false || p.blocked === 'false') control.blockedChats.delete(String(p.chat_id));
  else control.blockedChats.add(String(p.chat_id));
  return res.json({ ok: true, result: true });
});

const MEMBER_DEFAULTS = {
  creator: { is_anonymous: false },
  administrator: {
    can_be_edited: false,
    is_anonymous: false,
    can_manage_chat: true,
    can_delete_messages: true,
    can_manage_video_chats: true,
    can_restrict_members: true,
    can_promote_members: false,
    can_change_info: true,
    can_invite_users: true,
    can_post_stories: false,
    can_edit_stories: false,
    can_delete_stories: false,
    can_pin_messages: true,
  },
  member: {},
  left: {},
  kicked: { until_date: 0 },
};

/** {id, type, title, username?}: a chat (a channel, say) that getChat then knows. */
test.post('/chat', (req, res) => {
  const p = params(req);
  if (p.id === undefined || !p.type) return fail(res, 400, 'id and type are required');
  const chat = { ...p, id: Number(p.id) };
  control.chats.set(String(chat.id), chat);
  if (chat.username) control.chats.set(`@${String(chat.username).toLowerCase()}`, chat);
  return res.json({ ok: true, result: chat });
});

/** {chat_id, user_id, status, user?, ...fields}: what getChatMember answers for that pair. */
test.post('/chatMember', (req, res) => {
  const p = params(req);
  if (p.chat_id === undefined || p.user_id === undefined) {
    return fail(res, 400, 'chat_id and user_id are required');
  }
  if (!(p.status in MEMBER_DEFAULTS)) {
    return fail(res, 400, `status must be one of ${Object.keys(MEMBER_DEFAULTS).join(', ')}`);
  }
  const {
    chat_id: chatId, user_id: userId, status, user, ...fields
  } = p;
  const member = {
    status,
    user: user || { id: Number(userId), is_bot: false, first_name: `User ${userId}` },
    ...MEMBER_DEFAULTS[status],
    ...fields,
  };
  control.members.set(`${chatId}:${userId}`, member);
  return res.json({ ok: true, result: member });
});

/** {method='sendMessage', token?, retry_after=1, times=1}: the next calls answer 429. */
test.post('/flood', (req, res) => {
  const p = params(req);
  const flood = {
    method: p.method || 'sendMessage',
    token: p.token || null,
    retryAfter: Number(p.retry_after || 1),
    remaining: Number(p.times || 1),
  };
  control.floods.push(flood);
  res.json({ ok: true, result: true });
});

/** {token?, method?}: the Bot API calls made so far, oldest first, with their HTTP status. */
test.all('/calls', (req, res) => {
  const p = params(req);
  const calls = control.calls.filter((c) => (!p.token || c.token === p.token)
    && (!p.method || c.method === p.method));
  res.json({ ok: true, result: calls });
});

/** {botToken, from, query, offset?, chat_type?}: a user types an inline query. */
test.post('/sendInlineQuery', async (req, res) => {
  const p = params(req);
  if (!p.botToken || !p.from) return fail(res, 400, 'botToken and from are required');
  const id = String(control.nextInlineQueryId++);
  const inlineQuery = {
    id, from: p.from, query: p.query || '', offset: p.offset || '',
  };
  if (p.chat_type) inlineQuery.chat_type = p.chat_type;
  control.inlineQueries.set(id, { token: p.botToken, answer: null });
  const updateId = upstream.updateId;
  // `message: {chat: {}}` only keeps upstream's deleteMessage() scan, which reads
  // update.message.chat of every stored update, from throwing on this update.
  const update = {
    ...upstream.getCommonFields(p.botToken), inlineQuery, message: { chat: {} },
  };
  try {
    await upstream.addUserUpdate(update);
  } catch (err) {
    return fail(res, 502, `update not delivered: ${err.message}`);
  }
  wakeWaiters(p.botToken);
  return res.json({ ok: true, result: { update_id: updateId, inline_query_id: id } });
});

/**
 * {botToken, chat: {id, title, username}, message_id, text, date?, edit_date?, author_signature?}:
 * a post in a channel the bot administers, delivered as `channel_post` (or
 * `edited_channel_post` when edit_date is given), as Telegram does.
 */
test.post('/sendChannelPost', async (req, res) => {
  const p = params(req);
  if (!p.botToken || !p.chat || !p.message_id) {
    return fail(res, 400, 'botToken, chat and message_id are required');
  }
  const channelPost = {
    message_id: Number(p.message_id),
    chat: { ...p.chat, type: 'channel' },
    sender_chat: { ...p.chat, type: 'channel' },
    date: Number(p.date || Math.floor(Date.now() / 1000)),
    text: p.text,
  };
  if (p.edit_date) channelPost.edit_date = Number(p.edit_date);
  if (p.author_signature) channelPost.author_signature = p.author_signature;
  const updateId = upstream.updateId;
  const update = {
    ...upstream.getCommonFields(p.botToken), channelPost, message: { chat: {} },
  };
  try {
    await upstream.addUserUpdate(update);
  } catch (err) {
    return fail(res, 502, `update not delivered: ${err.message}`);
  }
  wakeWaiters(p.botToken);
  return res.json({ ok: true, result: { update_id: updateId } });
});

/** {token, revoked=true}: every Bot API call with this token answers 401, as for a revoked token. */
test.post('/revoke', (req, res) => {
  const p = params(req);
  if (!p.token) return fail(res, 400, 'token is required');
  if (p.revoked === false || p.revoked === 'false') {
    control.revokedTokens.delete(String(p.token));
  } else {
    control.revokedTokens.add(String(p.token));
    // A getUpdates already waiting learns it at once, as the bot's next call would.
    for (const w of [...waiters]) if (w.token === String(p.token)) w.unauthorized();
  }
  return res.json({ ok: true, result: true });
});

/** {chat_id, thread_id}: the forum topic is deleted; sending to it answers 400. */
test.post('/deleteTopic', (req, res) => {
  const p = params(req);
  if (p.chat_id === undefined || p.thread_id === undefined) {
    return fail(res, 400, 'chat_id and thread_id are required');
  }
  control.deletedTopics.add(`${p.chat_id}:${p.thread_id}`);
  return res.json({ ok: true, result: true });
});

/** {botToken, from, chat, message_id, text, date?}: a user edits one of their messages. */
test.post('/editMessage', async (req, res) => {
  const p = params(req);
  if (!p.botToken || !p.from || !p.chat || !p.message_id) {
    return fail(res, 400, 'botToken, from, chat and message_id are required');
  }
  const now = Math.floor(Date.now() / 1000);
  const editedMessage = {
    message_id: Number(p.message_id),
    from: p.from,
    chat: p.chat,
    date: Number(p.date || now),
    edit_date: now,
    text: p.text,
  };
  if (p.entities) editedMessage.entities = p.entities;
  const updateId = upstream.updateId;
  const update = {
    ...upstream.getCommonFields(p.botToken), editedMessage, message: { chat: {} },
  };
  try {
    await upstream.addUserUpdate(update);
  } catch (err) {
    return fail(res, 502, `update not delivered: ${err.message}`);
  }
  wakeWaiters(p.botToken);
  return res.json({ ok: true, result: { update_id: updateId } });
});

/** {botToken, from, chat, old_status, new_status}: someone added (or removed) the bot. */
test.post('/myChatMember', async (req, res) => {
  const p = params(req);
  if (!p.botToken || !p.from || !p.chat || !p.new_status) {
    return fail(res, 400, 'botToken, from, chat and new_status are required');
  }
  const member = (status) => ({ status, user: BOT_USER, ...(MEMBER_DEFAULTS[status] || {}) });
  const myChatMember = {
    chat: p.chat,
    from: p.from,
    date: Math.floor(Date.now() / 1000),
    old_chat_member: member(p.old_status || 'left'),
    new_chat_member: member(p.new_status),
  };
  const updateId = upstream.updateId;
  const update = {
    ...upstream.getCommonFields(p.botToken), myChatMember, message: { chat: {} },
  };
  try {
    await upstream.addUserUpdate(update);
  } catch (err) {
    return fail(res, 502, `update not delivered: ${err.message}`);
  }
  wakeWaiters(p.botToken);
  return res.json({ ok: true, result: { update_id: updateId } });
});

/** {inline_query_id}: what the bot answered with answerInlineQuery, or null if not yet. */
test.all('/inlineAnswer', (req, res) => {
  const p = params(req);
  const query = control.inlineQueries.get(String(p.inline_query_id));
  if (!query) return fail(res, 404, `no inline query ${p.inline_query_id}`);
  return res.json({ ok: true, result: query.answer });
});

app.use('/_test', test);

// ----- client API (a test acting as a user) -------------------------------------------------

// Upstream's /sendMessage, /sendCommand and /sendCallback, redone with upstream's own methods so
// that they (a) answer the update_id / message_id / callback query id they assigned instead of
// null, (b) report a failed webhook delivery instead of crashing the process with an
// unhandled rejection, and (c) wake a waiting getUpdates long poll.
function userAction(add, ids) {
  return async (req, res) => {
    const assigned = ids();
    try {
      await add(req.body);
    } catch (err) {
      const delivery = err.isAxiosError || /Webhook/.test(err.message);
      return fail(res, delivery ? 502 : 400, `${delivery ? 'webhook delivery failed' : 'bad update'}: ${err.message}`);
    }
    wakeWaiters(req.body.botToken);
    return res.json({ ok: true, result: assigned });
  };
}
const messageIds = () => ({ update_id: upstream.updateId, message_id: upstream.messageId });
app.post('/sendMessage', userAction((m) => upstream.addUserMessage(m), messageIds));
app.post('/sendCommand', userAction((m) => upstream.addUserCommand(m), messageIds));
app.post('/sendCallback', userAction((q) => upstream.addUserCallback(q), () => ({
  update_id: upstream.updateId, callback_query_id: String(upstream.callbackId),
})));

// ----- Bot API ------------------------------------------------------------------------------

// Every Bot API call: log it, then apply the test-control hooks (block, flood).
app.all('/bot:token/:method', (req, res, next) => {
  const { token, method } = req.params;
  const p = params(req);
  const call = {
    token, method, params: p, status: null, at: Date.now() / 1000,
  };
  control.calls.push(call);
  if (control.calls.length > MAX_LOGGED_CALLS) control.calls.shift();
  res.on('finish', () => { call.status = res.statusCode; });

  if (control.revokedTokens.has(token)) return fail(res, 401, 'Unauthorized');
  if (p.chat_id !== undefined && control.blockedChats.has(String(p.chat_id))) {
    return fail(res, 403, 'Forbidden: bot was blocked by the user');
  }
  const flood = control.floods.find((f) => f.method === method && (!f.token || f.token === token));
  if (flood) {
    flood.remaining -= 1;
    if (flood.remaining <= 0) control.floods.splice(control.floods.indexOf(flood), 1);
    return fail(res, 429, `Too Many Requests: retry after ${flood.retryAfter}`, {
      retry_after: flood.retryAfter,
    });
  }
  return next();
});

// FIX (getMe): upstream's bot user lacks `is_bot` (PTB's User requires it) and the three
// fields getMe always carries on Telegram (can_join_groups, can_read_all_group_messages,
// supports_inline_queries).
app.all('/bot:token/getMe', (req, res, next) => {
  onResult(res, (user) => ({
    ...user,
    is_bot: true,
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: true,
  }));
  next();
});

// FIX (date): upstream's sendMessage result has `date` in milliseconds (Date.getTime()); the
// Bot API's dates are Unix time in seconds (PTB reads ~1.7e12 as a year past 50000 and fails).
// It also lacks `from`, which Telegram fills with the bot itself for the bot's own messages.
// FIX (echo): upstream answers with the request's own parameters merged into the Message, so
// form fields PTB sends JSON-encoded (link_preview_options, reply_markup, reply_parameters)
// come back as strings and PTB cannot parse them. Telegram answers a Message: keep its fields,
// decode reply_markup, and drop the request-only parameters.
const SEND_ONLY_PARAMS = ['chat_id', 'parse_mode', 'link_preview_options', 'reply_parameters',
  'disable_web_page_preview', 'disable_notification', 'protect_content', 'do_quote',
  'reply_to_message_id', 'allow_sending_without_reply', 'message_thread_id', 'botToken'];
app.all('/bot:token/sendMessage', (req, res, next) => {
  const thread = params(req).message_thread_id;
  if (thread !== undefined && control.deletedTopics.has(`${params(req).chat_id}:${thread}`)) {
    return fail(res, 400, 'Bad Request: message thread not found');
  }
  onResult(res, (msg) => {
    const out = { ...msg, from: BOT_USER, date: Math.floor(msg.date / 1000) };
    for (const key of SEND_ONLY_PARAMS) delete out[key];
    if (out.reply_markup !== undefined) {
      const markup = parseJsonParam(out.reply_markup);
      if (markup && typeof markup === 'object' && 'inline_keyboard' in markup) {
        out.reply_markup = markup;
      } else {
        delete out.reply_markup;
      }
    }
    if (typeof out.entities === 'string') out.entities = parseJsonParam(out.entities);
    return out;
  });
  next();
});

// FIX (edits): upstream's editMessageText / editMessageReplyMarkup answer `result: null`, edit
// silently nothing when the message is unknown, and keep the old inline keyboard when the edit
// carries none. Telegram answers the edited Message (True for inline messages), 400 "message
// to edit not found" for an unknown message, and an edit without reply_markup removes the
// keyboard.
for (const method of ['editMessageText', 'editMessageReplyMarkup']) {
  app.all(`/bot:token/${method}`, (req, res, next) => {
    const p = params(req);
    if (p.inline_message_id !== undefined) return res.json({ ok: true, result: true });
    const stored = findBotMessage(req.params.token, p.chat_id, p.message_id);
    if (!stored) return fail(res, 400, 'Bad Request: message to edit not found');
    if (p.reply_markup === undefined || p.reply_markup === '') {
      stored.message = { ...stored.message };
      delete stored.message.reply_markup;
    }
    if (method === 'editMessageReplyMarkup' && p.reply_markup === undefined) {
      return res.json({ ok: true, result: toTelegramMessage(stored, true) });
    }
    onResult(res, () => toTelegramMessage(stored, true));
    return next();
  });
}

// FIX (True results): upstream answers `result: null` where the Bot API answers True.
for (const method of ['answerCallbackQuery', 'deleteMessage', 'setWebhook']) {
  app.all(`/bot:token/${method}`, (req, res, next) => {
    onResult(res, (result) => (result === null ? true : result));
    next();
  });
}

// FIX (drop_pending_updates): upstream ignores it on setWebhook / deleteWebhook; Telegram then
// drops the updates not yet delivered (PTB's run_polling(drop_pending_updates=True) relies on it).
for (const method of ['setWebhook', 'deleteWebhook']) {
  app.all(`/bot:token/${method}`, (req, res, next) => {
    if (['true', 'True', '1', true].includes(params(req).drop_pending_updates)) {
      for (const u of upstream.storage.userMessages) {
        if (u.botToken === req.params.token) u.isRead = true;
      }
    }
    next();
  });
}

// FIX (getUpdates): upstream answers at once (ignoring `timeout`: a bot polling it spins in a
// busy loop), ignores `offset` and `limit`, and marks updates read as soon as it has answered
// them, so an answer the bot never received is lost. Telegram long-polls: it holds the request
// up to `timeout` seconds until an update arrives; it keeps each update until a later call
// confirms it with offset > update_id; and it answers 409 while a webhook is set or when a
// newer getUpdates call for the same bot supersedes a waiting one.
const waiters = new Set(); // {token, answer(), supersede()}

function wakeWaiters(token) {
  for (const w of [...waiters]) if (w.token === token) w.answer();
}

function takeUpdates(token, offset, limit) {
  const mine = upstream.storage.userMessages.filter((u) => u.botToken === token);
  if (offset > 0) {
    for (const u of mine) if (u.updateId < offset) u.isRead = true; // confirmed
  }
  let pending = mine.filter((u) => !u.isRead);
  if (offset < 0) {
    // A negative offset keeps the last -offset updates and forgets all earlier ones.
    const keep = pending.slice(offset);
    for (const u of pending) if (!keep.includes(u)) u.isRead = true;
    pending = keep;
  }
  return pending.slice(0, limit).map((u) => TelegramServer.formatUpdate(u));
}

app.all('/bot:token/getUpdates', (req, res) => {
  const { token } = req.params;
  const p = params(req);
  if (upstream.webhooks[token]) {
    return fail(res, 409, "Conflict: can't use getUpdates method while webhook is active; "
      + 'use deleteWebhook to delete the webhook first');
  }
  const offset = Number.parseInt(p.offset || 0, 10) || 0;
  const limit = Math.min(100, Math.max(1, Number.parseInt(p.limit || 100, 10) || 100));
  const timeout = Math.max(0, Number(p.timeout || 0) || 0);

  for (const w of [...waiters]) if (w.token === token) w.supersede();

  const first = takeUpdates(token, offset, limit);
  if (first.length > 0 || timeout === 0) return res.json({ ok: true, result: first });

  const waiter = { token };
  const finish = (send) => {
    if (!waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    send();
  };
  waiter.answer = () => finish(() => res.json({ ok: true, result: takeUpdates(token, offset, limit) }));
  waiter.unauthorized = () => finish(() => fail(res, 401, 'Unauthorized'));
  waiter.supersede = () => finish(() => fail(res, 409, 'Conflict: terminated by other getUpdates '
    + 'request; make sure that only one bot instance is running'));
  waiter.timer = setTimeout(waiter.answer, timeout * 1000);
  // The bot hung up (it was stopped, or its read timeout expired): stop waiting for it.
  res.on('close', () => finish(() => {}));
  waiters.add(waiter);
  return undefined;
});

// ----- Bot API methods upstream lacks (upstream answers 500 "not supported") ---------------

const okTrue = (req, res) => res.json({ ok: true, result: true });

app.all('/bot:token/sendChatAction', okTrue);
// The bot's profile texts: kept only in the call log (/_test/calls), which is what tests read.
app.all('/bot:token/setMyDescription', okTrue);
app.all('/bot:token/setMyShortDescription', okTrue);

app.all('/bot:token/setMyCommands', (req, res) => {
  control.commands.set(req.params.token, parseJsonParam(params(req).commands) || []);
  res.json({ ok: true, result: true });
});
app.all('/bot:token/getMyCommands', (req, res) => {
  res.json({ ok: true, result: control.commands.get(req.params.token) || [] });
});
app.all('/bot:token/deleteMyCommands', (req, res) => {
  control.commands.delete(req.params.token);
  res.json({ ok: true, result: true });
});

app.all('/bot:token/getWebhookInfo', (req, res) => {
  const hook = upstream.webhooks[req.params.token];
  res.json({
    ok: true,
    result: { url: hook ? hook.url : '', has_custom_certificate: false, pending_update_count: 0 },
  });
});

// Upstream lacks getChat: answer chats registered through /_test/chat, by id or @username.
app.all('/bot:token/getChat', (req, res) => {
  const key = String(params(req).chat_id).toLowerCase();
  const chat = control.chats.get(key);
  if (!chat) return fail(res, 400, 'Bad Request: chat not found');
  // getChat answers a ChatFullInfo, which always carries these two (PTB requires them).
  return res.json({ ok: true, result: { accent_color_id: 0, max_reaction_count: 11, ...chat } });
});

// Default for a (chat, user) pair nobody configured: an ordinary member.
app.all('/bot:token/getChatMember', (req, res) => {
  const p = params(req);
  const member = control.members.get(`${p.chat_id}:${p.user_id}`) || {
    status: 'member',
    user: { id: Number(p.user_id), is_bot: false, first_name: `User ${p.user_id}` },
  };
  res.json({ ok: true, result: member });
});

app.all('/bot:token/getChatAdministrators', (req, res) => {
  const prefix = `${params(req).chat_id}:`;
  const admins = [...control.members.entries()]
    .filter(([key, m]) => key.startsWith(prefix) && ['creator', 'administrator'].includes(m.status))
    .map(([, m]) => m);
  res.json({ ok: true, result: admins });
});

app.all('/bot:token/answerInlineQuery', (req, res) => {
  const p = params(req);
  const query = control.inlineQueries.get(String(p.inline_query_id));
  if (!query || query.token !== req.params.token) {
    return fail(res, 400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
  }
  query.answer = {
    results: parseJsonParam(p.results) || [],
    cache_time: p.cache_time === undefined ? null : Number(p.cache_time),
    is_personal: parseJsonParam(p.is_personal) || false,
    next_offset: p.next_offset || '',
    button: parseJsonParam(p.button) || null,
  };
  return res.json({ ok: true, result: true });
});

// Everything else: upstream's own routes.
app.use(upstream.webServer);

// A webhook that fails must not take the emulator down (userAction reports it already).
process.on('unhandledRejection', (err) => {
  process.stderr.write(`launch.js: unhandled rejection: ${err && err.stack ? err.stack : err}\n`);
});

// ---------------------------------------------------------------------------------------------
// Listening
// ---------------------------------------------------------------------------------------------

// FIX (port): upstream's start() turns port 0 into 9000 (`config.port || 9000`), so parallel
// runs collide. We create the HTTP server ourselves around the same express app and let the
// OS choose a free port, as listen(0) does everywhere.
const server = http.createServer(app);
server.keepAliveTimeout = 5000;
server.on('error', (err) => die(`cannot listen: ${err.message}`));
server.listen(args.port, args.host, () => {
  const { port } = server.address();
  upstream.config.port = port;
  upstream.config.apiURL = `http://${args.host}:${port}`;
  process.stdout.write(`LISTENING http://${args.host}:${port}\n`);
});

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`launch.js: ${signal}, stopping\n`);
  for (const w of [...waiters]) w.answer();
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
if (args.watchStdin) {
  process.stdin.on('end', () => stop('stdin closed'));
  process.stdin.on('error', () => stop('stdin error'));
  process.stdin.resume();
}
