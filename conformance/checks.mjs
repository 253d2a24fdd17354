// The official TypeScript SDK (@anthropic-ai/sdk 1.16.0) against `anthropic emulator`: ordinary
// calls of each Messages area, typed errors and retries under injected faults, streams, batches,
// count_tokens and models. Expectations come from the SDK's types (node_modules/@anthropic-ai/sdk/
// resources/*.d.ts) and the API docs, not from what the emulator answers. Run by conformance/run.lua
// (make conformance), with ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL set to the emulator's.
// Prints "ok N - name" / "not ok N - name" lines, then "N passed, N failed".
import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';

const BASE = process.env.ANTHROPIC_BASE_URL;
const MODEL = 'claude-opus-4-6';
const client = new Anthropic({ baseURL: BASE, maxRetries: 0 });
const hello = (extra = {}) => ({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Hello' }], ...extra });

async function control(method, path, body) {
  const res = await fetch(`${BASE}/_emulator/${path}`, {
    method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(res.status, 200, `control ${method} ${path}`);
  return res.json();
}
const faults = (list) => control('POST', 'faults', { faults: list });
const lastRequest = async () => (await control('GET', 'log')).requests.at(-1);

// Every key of an SDK interface is present (null where the type allows it): the SDK's types
// mark them required, so a missing one is a shape the SDK does not describe.
function hasKeys(obj, keys, what) {
  for (const k of keys) assert.ok(Object.hasOwn(obj, k), `${what} lacks "${k}"`);
}
const MESSAGE_KEYS = ['id', 'container', 'content', 'diagnostics', 'model', 'role', 'stop_details', 'stop_reason',
  'stop_sequence', 'type', 'usage'];
const USAGE_KEYS = ['cache_creation', 'cache_creation_input_tokens', 'cache_read_input_tokens', 'inference_geo',
  'input_tokens', 'output_tokens', 'output_tokens_details', 'server_tool_use', 'service_tier', 'speed'];
const MODEL_INFO_KEYS = ['id', 'capabilities', 'created_at', 'deprecated_at', 'display_name', 'lifecycle', 'line',
  'max_input_tokens', 'max_tokens', 'retires_at', 'type'];
const CAPABILITY_KEYS = ['batch', 'citations', 'code_execution', 'context_management', 'effort', 'image_input',
  'pdf_input', 'server_tools', 'structured_outputs', 'thinking'];
const BATCH_KEYS = ['id', 'archived_at', 'cancel_initiated_at', 'created_at', 'ended_at', 'expires_at',
  'processing_status', 'request_counts', 'results_url', 'type'];

const checks = [];
const check = (name, fn) => checks.push({ name, fn });

check('messages.create returns a Message with every field of the SDK type', async () => {
  const msg = await client.messages.create(hello());
  hasKeys(msg, MESSAGE_KEYS, 'Message');
  hasKeys(msg.usage, USAGE_KEYS, 'Usage');
  assert.equal(msg.type, 'message');
  assert.equal(msg.role, 'assistant');
  assert.match(msg.id, /^msg_/);
  assert.equal(msg.content[0].type, 'text');
  assert.equal(typeof msg.content[0].text, 'string');
  assert.ok(Number.isInteger(msg.usage.input_tokens) && msg.usage.input_tokens > 0);
  assert.ok(['end_turn', 'max_tokens', 'stop_sequence', 'tool_use', 'pause_turn', 'refusal'].includes(msg.stop_reason));
});

check('the SDK sends anthropic-version 2026-10-21 and its key as a Bearer token, which the emulator accepts', async () => {
  await client.messages.create(hello());
  const r = await lastRequest();
  assert.equal(r.headers['anthropic-version'], '2026-10-21');
  assert.equal(r.status, 200);
});

check('.withResponse() gives the request id header the API sends', async () => {
  const { data, response } = await client.messages.create(hello()).withResponse();
  assert.equal(data.type, 'message');
  assert.match(response.headers.get('request-id'), /^req_/);
});

check('temperature under 2026-10-21 is a BadRequestError (400 invalid_request_error)', async () => {
  await assert.rejects(client.messages.create(hello({ temperature: 0.5 })), (e) => {
    assert.ok(e instanceof Anthropic.BadRequestError, e.constructor.name);
    assert.equal(e.status, 400);
    assert.equal(e.error.error.type, 'invalid_request_error');
    assert.equal(e.error.error.message, 'temperature: Extra inputs are not permitted');
    return true;
  });
});

check('an unknown field is "Extra inputs are not permitted"', async () => {
  await assert.rejects(client.messages.create(hello({ no_such_field: 1 })), (e) => {
    assert.ok(e instanceof Anthropic.BadRequestError);
    assert.match(e.message, /no_such_field: Extra inputs are not permitted/);
    return true;
  });
});

check('a wrong key is an AuthenticationError (401)', async () => {
  const bad = new Anthropic({ apiKey: 'sk-ant-api03-' + 'x'.repeat(93) + 'AA', baseURL: BASE, maxRetries: 0 });
  await assert.rejects(bad.messages.create(hello()), (e) => e instanceof Anthropic.AuthenticationError && e.status === 401);
});

check('an unknown model is a NotFoundError (404 not_found_error)', async () => {
  await assert.rejects(client.messages.create(hello({ model: 'claude-nothing-9' })), (e) => {
    assert.ok(e instanceof Anthropic.NotFoundError, e.constructor.name);
    assert.equal(e.error.error.type, 'not_found_error');
    return true;
  });
});

const TYPED = [
  [400, 'BadRequestError'], [401, 'AuthenticationError'], [403, 'PermissionDeniedError'], [404, 'NotFoundError'],
  [409, 'ConflictError'], [413, 'APIError'], [422, 'UnprocessableEntityError'], [429, 'RateLimitError'],
  [500, 'InternalServerError'], [529, 'InternalServerError'],
];
for (const [status, cls] of TYPED) {
  check(`a ${status} fault reaches the SDK as ${cls} with the status and request id`, async () => {
    await faults([{ path: '/v1/messages', status }]);
    await assert.rejects(client.messages.create(hello()), (e) => {
      assert.ok(e instanceof Anthropic[cls], `${e.constructor.name}: ${e.message}`);
      assert.equal(e.status, status);
      assert.match(e.requestID ?? '', /^req_/);
      return true;
    });
  });
}

check('the SDK retries a 529 with retry-after and then succeeds', async () => {
  await faults([{ path: '/v1/messages', status: 529, count: 2, headers: { 'retry-after': '0' } }]);
  const retrying = new Anthropic({ baseURL: BASE, maxRetries: 2 });
  const msg = await retrying.messages.create(hello());
  assert.equal(msg.type, 'message');
  const log = (await control('GET', 'log')).requests.slice(-3).map((r) => r.status);
  assert.deepEqual(log, [529, 529, 200]);
});

check('the SDK retries a 429 rate limit with its retry-after header and then succeeds', async () => {
  await faults([{ path: '/v1/messages', status: 429, headers: { 'retry-after': '0' } }]);
  const retrying = new Anthropic({ baseURL: BASE, maxRetries: 1 });
  const msg = await retrying.messages.create(hello());
  assert.equal(msg.type, 'message');
});

check('x-should-retry: false stops the SDK retrying a 500', async () => {
  await faults([{ path: '/v1/messages', status: 500, headers: { 'x-should-retry': 'false' } }]);
  const retrying = new Anthropic({ baseURL: BASE, maxRetries: 2 });
  await assert.rejects(retrying.messages.create(hello()), (e) => e instanceof Anthropic.InternalServerError);
  await control('DELETE', 'faults');
});

check('a connection reset is an APIConnectionError', async () => {
  await faults([{ path: '/v1/messages', action: 'reset_before_headers' }]);
  await assert.rejects(client.messages.create(hello()), (e) => e instanceof Anthropic.APIConnectionError);
});

check('messages.stream: events in order and a final message with every field of the SDK type', async () => {
  const stream = client.messages.stream(hello());
  const types = [];
  let text = '';
  for await (const ev of stream) {
    types.push(ev.type);
    if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
  }
  const msg = await stream.finalMessage();
  assert.equal(types[0], 'message_start');
  assert.equal(types.at(-1), 'message_stop');
  assert.ok(types.includes('message_delta'));
  hasKeys(msg, MESSAGE_KEYS, 'streamed Message');
  assert.equal(msg.content[0].text, text);
  assert.ok(msg.usage.output_tokens > 0);
});

check('an error event in a stream is an APIError of the event\'s type', async () => {
  await faults([{ path: '/v1/messages', action: 'stream_error_after', after: 3 }]);
  const stream = client.messages.stream(hello());
  await assert.rejects(stream.finalMessage(), (e) => {
    assert.ok(e instanceof Anthropic.APIError, e.constructor.name);
    assert.match(e.message, /overloaded_error|Overloaded/);
    return true;
  });
});

check('messages.countTokens returns { input_tokens }', async () => {
  const n = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'How many?' }] });
  assert.ok(Number.isInteger(n.input_tokens) && n.input_tokens > 0);
});

check('models.list pages through ModelInfo objects with every field of the SDK type', async () => {
  const seen = [];
  for await (const m of client.models.list({ limit: 3 })) {
    hasKeys(m, MODEL_INFO_KEYS, `ModelInfo ${m.id}`);
    hasKeys(m.capabilities, CAPABILITY_KEYS, `capabilities of ${m.id}`);
    assert.ok(['active', 'deprecated', 'retired'].includes(m.lifecycle), m.lifecycle);
    assert.notEqual(m.lifecycle, 'retired', 'retired models are listed only when asked for');
    seen.push(m.id);
  }
  assert.equal(new Set(seen).size, seen.length);
  assert.ok(seen.includes('claude-opus-4-6'));
});

check('models.list({ lifecycle: ["retired"] }) lists retired models only', async () => {
  const retired = [];
  for await (const m of client.models.list({ lifecycle: ['retired'] })) retired.push(m);
  assert.ok(retired.length > 0, 'claude-sonnet-4-5 retired on 2026-11-30');
  for (const m of retired) {
    assert.equal(m.lifecycle, 'retired');
    assert.equal(typeof m.deprecated_at, 'string');
  }
});

check('models.retrieve resolves an alias to the model', async () => {
  const m = await client.models.retrieve('claude-haiku-4-5');
  assert.equal(m.id, 'claude-haiku-4-5-20251001');
  assert.equal(m.type, 'model');
});

check('the SDK\'s current models are served (claude-opus-5-5, claude-sonnet-5-5, claude-haiku-5-5, claude-opus-4-8)', async () => {
  for (const id of ['claude-opus-5-5', 'claude-sonnet-5-5', 'claude-haiku-5-5', 'claude-opus-4-8']) {
    const m = await client.models.retrieve(id);
    assert.equal(m.id, id);
    const msg = await client.messages.create(hello({ model: id }));
    assert.equal(msg.model, id);
  }
});

check('message batches: create, retrieve, results decoded by the SDK', async () => {
  await control('POST', 'batches', { processing_seconds: 0 });
  const b = await client.messages.batches.create({
    requests: [
      { custom_id: 'one', params: hello() },
      { custom_id: 'two', params: hello({ max_tokens: 999999 }) },
    ],
  });
  hasKeys(b, BATCH_KEYS, 'MessageBatch');
  assert.equal(b.type, 'message_batch');
  const got = await client.messages.batches.retrieve(b.id);
  assert.equal(got.processing_status, 'ended');
  const results = {};
  for await (const r of await client.messages.batches.results(b.id)) results[r.custom_id] = r.result;
  assert.equal(results.one.type, 'succeeded');
  hasKeys(results.one.message, MESSAGE_KEYS, 'batch result Message');
  assert.equal(results.two.type, 'errored');
  assert.equal(results.two.error.error.type, 'invalid_request_error');
  await control('POST', 'batches', { processing_seconds: 60 });
});

check('message batches: list pages and the cancel/delete calls answer the SDK\'s shapes', async () => {
  const b = await client.messages.batches.create({ requests: [{ custom_id: 'c', params: hello() }] });
  const canceled = await client.messages.batches.cancel(b.id);
  assert.equal(canceled.id, b.id);
  assert.ok(['canceling', 'ended'].includes(canceled.processing_status));
  let found = false;
  for await (const x of client.messages.batches.list({ limit: 2 })) if (x.id === b.id) found = true;
  assert.ok(found);
});

// Request fields of MessageCreateParams / MessageCountTokensParams (SDK 1.16.0) and what the
// answers carry for them (Usage, ThinkingBlock, Diagnostics, the stream's ThinkingDelta and
// SignatureDelta).
const THINKING_MODEL = 'claude-opus-4-8';
const badRequest = (re) => (e) => {
  assert.ok(e instanceof Anthropic.BadRequestError, `${e.constructor.name}: ${e.message}`);
  assert.equal(e.error.error.type, 'invalid_request_error');
  if (re) assert.match(e.error.error.message, re);
  return true;
};

check('service_tier takes auto and standard_only (the SDK type); any other value is a 400 invalid_request_error', async () => {
  for (const tier of ['auto', 'standard_only']) {
    const msg = await client.messages.create(hello({ service_tier: tier }));
    assert.ok(['standard', 'priority'].includes(msg.usage.service_tier), msg.usage.service_tier);
  }
  await assert.rejects(client.messages.create(hello({ service_tier: 'priority' })), badRequest(/service_tier/));
});

check('speed and inference_geo are taken and reported in Usage', async () => {
  const msg = await client.messages.create(hello({ speed: 'fast', inference_geo: 'us' }));
  assert.equal(msg.usage.speed, 'fast');
  assert.equal(msg.usage.inference_geo, 'us');
  await assert.rejects(client.messages.create(hello({ speed: 'warp' })), badRequest(/speed/));
});

check('diagnostics: { previous_message_id: null } opts in; the Message carries Diagnostics', async () => {
  const msg = await client.messages.create(hello({ diagnostics: { previous_message_id: null } }));
  assert.ok(msg.diagnostics && typeof msg.diagnostics === 'object');
  assert.ok(Object.hasOwn(msg.diagnostics, 'cache_miss_reason'));
  const plain = await client.messages.create(hello());
  assert.equal(plain.diagnostics, null);
});

check('thinking enabled: a ThinkingBlock (thinking, signature) comes before the text; thinking tokens in output_tokens_details', async () => {
  const msg = await client.messages.create({ model: THINKING_MODEL, max_tokens: 2048,
    thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'Think, then answer' }] });
  assert.equal(msg.content[0].type, 'thinking');
  hasKeys(msg.content[0], ['signature', 'thinking', 'type'], 'ThinkingBlock');
  assert.ok(msg.content[0].signature.length > 0);
  assert.equal(msg.content.at(-1).type, 'text');
  const t = msg.usage.output_tokens_details.thinking_tokens;
  assert.ok(Number.isInteger(t) && t > 0 && t <= msg.usage.output_tokens);
  const adaptive = await client.messages.create({ model: THINKING_MODEL, max_tokens: 256,
    thinking: { type: 'adaptive' }, messages: [{ role: 'user', content: 'Hi' }] });
  assert.ok(adaptive.content.some((b) => b.type === 'text'));
  const disabled = await client.messages.create(hello({ thinking: { type: 'disabled' } }));
  assert.ok(disabled.content.every((b) => b.type !== 'thinking'));
});

check('thinking budget_tokens must be >= 1024 and less than max_tokens (ThinkingConfigEnabled): else a 400', async () => {
  const p = (budget, max) => ({ model: THINKING_MODEL, max_tokens: max, thinking: { type: 'enabled', budget_tokens: budget },
    messages: [{ role: 'user', content: 'Hi' }] });
  await assert.rejects(client.messages.create(p(1023, 4096)), badRequest(/budget_tokens/));
  await assert.rejects(client.messages.create(p(4096, 4096)), badRequest(/max_tokens/));
  await assert.rejects(client.messages.create(hello({ thinking: { type: 'sometimes' } })), badRequest(/thinking/));
});

check('messages.stream with thinking: thinking_delta then signature_delta; finalMessage keeps the signature', async () => {
  const stream = client.messages.stream({ model: THINKING_MODEL, max_tokens: 2048,
    thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'Think in a stream' }] });
  const deltas = [];
  let thinking = '';
  for await (const ev of stream) {
    if (ev.type === 'content_block_delta' && ev.index === 0) {
      deltas.push(ev.delta.type);
      if (ev.delta.type === 'thinking_delta') thinking += ev.delta.thinking;
    }
  }
  assert.ok(deltas.includes('thinking_delta'));
  assert.equal(deltas.at(-1), 'signature_delta', 'the signature comes just before the block stops');
  const msg = await stream.finalMessage();
  assert.equal(msg.content[0].type, 'thinking');
  assert.equal(msg.content[0].thinking, thinking);
  assert.ok(msg.content[0].signature.length > 0);
});

check('role "system" messages (SystemMessageParam) after a user turn are taken on Opus 4.8; refused on models without them', async () => {
  const messages = [{ role: 'user', content: 'Hello' }, { role: 'system', content: 'Answer briefly.' }];
  const msg = await client.messages.create({ model: THINKING_MODEL, max_tokens: 64, messages });
  assert.equal(msg.type, 'message');
  await assert.rejects(client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 64, messages }), badRequest());
  await assert.rejects(client.messages.create({ model: THINKING_MODEL, max_tokens: 64,
    messages: [{ role: 'system', content: 'First' }, { role: 'user', content: 'Hi' }] }), badRequest());
});

check('max_tokens: 0 populates the prompt cache without generating a response', async () => {
  const msg = await client.messages.create(hello({ max_tokens: 0 }));
  assert.equal(msg.content.length, 0);
  assert.equal(msg.usage.output_tokens, 0);
  assert.ok(msg.usage.input_tokens > 0);
  await assert.rejects(client.messages.create(hello({ max_tokens: -1 })), badRequest(/max_tokens/));
});

check('countTokens takes thinking and speed (MessageCountTokensParams)', async () => {
  const n = await client.messages.countTokens({ model: THINKING_MODEL, speed: 'fast',
    thinking: { type: 'enabled', budget_tokens: 2048 }, messages: [{ role: 'user', content: 'How many?' }] });
  assert.ok(Number.isInteger(n.input_tokens) && n.input_tokens > 0);
});

check('workspace_id and user_profile_id go as headers (the SDK\'s header params) and are accepted', async () => {
  const msg = await client.messages.create(hello({ workspace_id: 'wrkspc_01conformance', user_profile_id: 'uprof_01x' }));
  assert.equal(msg.type, 'message');
  const r = await lastRequest();
  assert.equal(r.headers['anthropic-workspace-id'], 'wrkspc_01conformance');
  assert.ok(!JSON.parse(r.body).workspace_id);
});

check('a workspace key\'s answers carry anthropic-workspace-id: withResponse().workspace_id, _workspace_id, error.workspaceID', async () => {
  const made = await control('POST', 'api_keys', { name: 'conformance', workspace_id: 'Staging' });
  const ws = made.data[0].workspace_id ?? made.data[0].scope?.workspace_id;
  const wsClient = new Anthropic({ apiKey: made.keys[0], baseURL: BASE, maxRetries: 0 });
  const { data, workspace_id: wid } = await wsClient.messages.create(hello()).withResponse();
  assert.equal(wid, ws);
  assert.equal(data._workspace_id, ws);
  await assert.rejects(wsClient.messages.create(hello({ service_tier: 'nope' })), (e) => {
    assert.ok(e instanceof Anthropic.BadRequestError);
    assert.equal(e.workspaceID, ws);
    return true;
  });
});

// ---------------------------------------------------------------------------------------------
// Admin API (client.beta.organization.*), with an admin key. Usage is injected through the
// emulator's control endpoint, at times within the API's window (2026-01-01 .. now).
const admin = new Anthropic({ apiKey: process.env.ANTHROPIC_ADMIN_KEY, baseURL: BASE, maxRetries: 0 });
const org = admin.beta.organization;
const adminGet = async (path) => {
  const res = await fetch(`${BASE}${path}`, { headers: { 'x-api-key': process.env.ANTHROPIC_ADMIN_KEY,
    'anthropic-version': '2023-06-01' } });
  assert.equal(res.status, 200, path);
  return res.json();
};
const A_START = '2026-03-01T00:00:00Z';
const A_END = '2026-03-08T00:00:00Z';
async function injectUsage() {
  await control('POST', 'clock', { set: '2026-03-10T12:00:00Z' });
  const records = [];
  for (let day = 1; day <= 7; day++) {
    const time = `2026-03-0${day}T10:00:00Z`;
    records.push({ time, api_key_id: 'prod-backend', model: 'claude-sonnet-4-6', input_tokens: 1000 * day,
      output_tokens: 100 + day, cache_read_input_tokens: 7 });
    records.push({ time, workspace_id: 'Staging', model: 'claude-haiku-4-5', input_tokens: 50, output_tokens: 5,
      service_tier: 'batch', web_search_requests: 1 });
  }
  await control('POST', 'usage', { records });
}
// BetaAnalyticsUsageGroup / BetaAnalyticsCostGroup keys (analytics/usage.d.ts, cost.d.ts)
const A_GROUP_KEYS = ['actor', 'actor_type', 'agent_id', 'api_key_id', 'claude_tag_category', 'claude_tag_user_id',
  'context_window', 'deployment_id', 'environment_id', 'inference_geo', 'model', 'organization_id', 'product',
  'rbac_group_id', 'service_tier', 'session_id', 'slack_channel_id', 'speed', 'user_profile_id', 'workspace_id'];
const A_USAGE_KEYS = ['cache_creation', 'cache_read_input_tokens', 'output_tokens', 'requests', 'server_tool_use',
  'total_tokens', 'uncached_input_tokens'];
const A_COST_KEYS = ['amount', 'currency', 'list_amount', 'requests'];

check('analytics.usage.list: BetaAnalyticsUsageItem rows with every field, the beta header, pages followed', async () => {
  await injectUsage();
  const rows = [];
  for await (const row of org.analytics.usage.list({ starting_at: A_START, ending_at: A_END, group_by: ['model'],
    limit: 1 })) rows.push(row);
  assert.equal(rows.length, 2);
  for (const r of rows) {
    hasKeys(r, ['starting_at', 'ending_at', 'group', 'usage'], 'BetaAnalyticsUsageItem');
    hasKeys(r.group, A_GROUP_KEYS, 'BetaAnalyticsUsageGroup');
    hasKeys(r.usage, A_USAGE_KEYS, 'BetaAnalyticsUsageMetrics');
    assert.equal(typeof r.group.model, 'string');
    assert.equal(r.group.workspace_id, null);
  }
  const r = await lastRequest();
  assert.equal(r.path, '/v1/organizations/analytics/usage');
  assert.match(r.headers['anthropic-beta'], /analytics-usage-cost-2026-08-24/);
  assert.match(r.query, /page=/);
});

check('analytics.usage.list sums equal the legacy usage report (by workspace_id, and in total)', async () => {
  await injectUsage();
  const legacy = await adminGet(`/v1/organizations/usage_report/messages?starting_at=${A_START}&ending_at=${A_END}` +
    '&group_by[]=workspace_id');
  const want = {};
  for (const b of legacy.data) for (const x of b.results) {
    want[x.workspace_id] = (want[x.workspace_id] ?? 0) + x.output_tokens;
  }
  const got = {};
  for await (const row of org.analytics.usage.list({ starting_at: A_START, ending_at: A_END,
    group_by: ['workspace_id'] })) got[row.group.workspace_id] = row.usage.output_tokens;
  assert.deepEqual(got, want);
});

check('analytics.usage.list takes every UsageListParams filter, time_bucket_width, order_by and order', async () => {
  await injectUsage();
  const page = await org.analytics.usage.list({ starting_at: A_START, ending_at: A_END, time_bucket_width: '1d',
    order_by: 'time', order: 'asc', service_tiers: ['batch'], models: ['claude-haiku-4-5'], api_key_ids: [''],
    context_windows: ['0-200k'], inference_geos: ['global'], products: ['message_batches_api'], speeds: ['standard'],
    group_by: ['service_tier', 'product'], limit: 10 });
  assert.equal(page.data.length, 7);
  assert.equal(page.data[0].starting_at, '2026-03-01T00:00:00Z');
  assert.equal(page.data[0].group.service_tier, 'batch');
  assert.equal(page.data[0].usage.requests, 1);
  // usage no identity is attributed to (no key, no user) matches no actor_types
  const none = await org.analytics.usage.list({ starting_at: A_START, ending_at: A_END, workspace_ids: [],
    actor_ids: ['svac_01none'], actor_types: ['service_account_actor', 'api_actor', 'user_actor'],
    exclude_deleted_users: true, group_by: ['actor'] });
  assert.equal(none.data.length, 0);
  await assert.rejects(org.analytics.usage.list({ starting_at: A_START, time_bucket_width: '1d' }), (e) => {
    assert.ok(e instanceof Anthropic.BadRequestError);
    assert.match(e.message, /ending_at/);
    return true;
  });
});

check('analytics.cost.list: BetaAnalyticsCostItem rows; cost_type and token_type fan out; sums equal the legacy cost report', async () => {
  await injectUsage();
  const legacy = await adminGet(`/v1/organizations/cost_report?starting_at=${A_START}&ending_at=${A_END}`);
  let want = 0;
  for (const b of legacy.data) for (const x of b.results) want += Number(x.amount);
  let total = 0;
  let n = 0;
  for await (const row of org.analytics.cost.list({ starting_at: A_START, ending_at: A_END,
    group_by: ['cost_type', 'token_type', 'workspace_id'] })) {
    hasKeys(row, ['starting_at', 'ending_at', 'group', 'cost'], 'BetaAnalyticsCostItem');
    hasKeys(row.group, [...A_GROUP_KEYS, 'cost_type', 'token_type'], 'BetaAnalyticsCostGroup');
    hasKeys(row.cost, A_COST_KEYS, 'BetaAnalyticsCostMetrics');
    assert.equal(typeof row.cost.amount, 'string');
    assert.equal(row.cost.currency, 'USD');
    assert.equal(row.cost.requests, null);
    assert.ok(['tokens', 'web_search', 'code_execution', 'session_usage'].includes(row.group.cost_type));
    total += Number(row.cost.amount);
    n++;
  }
  assert.ok(n > 2);
  assert.ok(Math.abs(total - want) < 1e-9, `${total} vs ${want}`);
});

check('rateLimits.list: BetaOrganizationRateLimit with the group object (2026-10-21), models and limits', async () => {
  const all = [];
  for await (const g of org.rateLimits.list()) all.push(g);
  assert.ok(all.length > 3);
  for (const g of all) {
    hasKeys(g, ['id', 'group', 'limits', 'models', 'type'], 'BetaOrganizationRateLimit');
    assert.equal(g.type, 'rate_limit');
    assert.ok(['model_group', 'batch', 'token_count', 'files', 'skills', 'web_search'].includes(g.group.type));
    hasKeys(g.group, g.group.type === 'model_group' ? ['id', 'type', 'display_name'] : ['id', 'type'], 'group');
    if (g.group.type !== 'model_group') assert.equal(g.models, null);
    for (const l of g.limits) assert.ok(typeof l.type === 'string' && Number.isInteger(l.value));
  }
  const mg = [];
  for await (const g of org.rateLimits.list({ model: 'claude-opus-4-6', group_type: 'model_group' })) mg.push(g);
  assert.equal(mg.length, 1);
  assert.ok(mg[0].models.includes('claude-opus-4-6'));
});

check('workspaces.rateLimits.update sets and clears (null) limits; list with include_inherited marks each value\'s source', async () => {
  const wsList = [];
  for await (const w of org.workspaces.list()) wsList.push(w);
  const ws = wsList.find((w) => w.name === 'Production').id;
  const [group] = (await org.rateLimits.list({ model: 'claude-opus-4-6' })).data;
  const entry = await org.workspaces.rateLimits.update(group.id, { workspace_id: ws,
    limits: [{ type: 'requests_per_minute', value: 100 }, { type: 'output_tokens_per_minute', value: 2000 }] });
  hasKeys(entry, ['group', 'limits', 'models', 'rate_limit_id', 'type', 'workspace_id'], 'BetaWorkspaceRateLimit');
  assert.equal(entry.type, 'workspace_rate_limit');
  assert.equal(entry.rate_limit_id, group.id);
  assert.equal(entry.limits.length, 2);
  for (const l of entry.limits) {
    hasKeys(l, ['org_limit', 'source', 'type', 'value'], 'BetaWorkspaceRateLimitValue');
    assert.deepEqual(l.source, { type: 'workspace' });
  }
  const cleared = await org.workspaces.rateLimits.update(group.id, { workspace_id: ws,
    limits: [{ type: 'output_tokens_per_minute', value: null }] });
  assert.deepEqual(cleared.limits.map((l) => [l.type, l.value]), [['requests_per_minute', 100]]);
  const own = [];
  for await (const e of org.workspaces.rateLimits.list(ws)) own.push(e);
  assert.equal(own.length, 1);
  const inherited = [];
  for await (const e of org.workspaces.rateLimits.list(ws, { include_inherited: true })) inherited.push(e);
  assert.ok(inherited.length > 1);
  const mine = inherited.find((e) => e.rate_limit_id === group.id);
  const org_ = mine.limits.filter((l) => l.source.type === 'organization');
  assert.ok(org_.length >= 1);
  for (const l of org_) assert.equal(l.value, l.org_limit);
  await assert.rejects(org.workspaces.rateLimits.update(group.id, { workspace_id: ws,
    limits: [{ type: 'requests_per_fortnight', value: 1 }] }), (e) => e instanceof Anthropic.BadRequestError);
});

const API_KEY_KEYS = ['id', 'created_at', 'created_by', 'expires_at', 'name', 'partial_key_hint', 'principal', 'scope',
  'status', 'type'];
const WORKSPACE_KEYS = ['id', 'archived_at', 'compartment_id', 'created_at', 'data_residency', 'display_color',
  'external_key_id', 'name', 'tags', 'type', 'user_profile_id'];
const INVITE_KEYS = ['id', 'accepted_at', 'email', 'expires_at', 'invited_at', 'rbac_group_ids', 'role', 'status', 'type'];

check('apiKeys.list/retrieve: BetaAPIKey with scope and principal (2026-10-21)', async () => {
  const keys = [];
  for await (const k of org.apiKeys.list()) keys.push(k);
  assert.ok(keys.length >= 2);
  for (const k of keys) {
    hasKeys(k, API_KEY_KEYS, 'BetaAPIKey');
    assert.ok(['organization', 'workspace'].includes(k.scope.type));
    if (k.scope.type === 'workspace') assert.match(k.scope.workspace_id, /^wrkspc_/);
    if (k.principal !== null) assert.ok(['user_actor', 'service_account_actor'].includes(k.principal.type));
  }
  const one = await org.apiKeys.retrieve(keys[0].id);
  hasKeys(one, API_KEY_KEYS, 'BetaAPIKey');
});

check('workspaces: create/update take display_color and user_profile_id; BetaWorkspace has compartment_id', async () => {
  const ws = await org.workspaces.create({ name: 'SDK colors', display_color: '#123ABC', user_profile_id: 'uprof_01sdk',
    tags: { team: 'sdk', drop: 'me' } });
  hasKeys(ws, WORKSPACE_KEYS, 'BetaWorkspace');
  assert.equal(ws.display_color, '#123ABC');
  assert.equal(ws.user_profile_id, 'uprof_01sdk');
  assert.equal(typeof ws.compartment_id, 'string');
  const up = await org.workspaces.update(ws.id, { display_color: '#FFFFFF', tags: { drop: null, env: 'ci' } });
  assert.equal(up.display_color, '#FFFFFF');
  assert.deepEqual(up.tags, { team: 'sdk', env: 'ci' }); // merged; null removed a tag
});

check('workspaces.list takes ids[] and include_default (WorkspaceListParams)', async () => {
  const all = [];
  for await (const w of org.workspaces.list()) all.push(w);
  const some = [];
  for await (const w of org.workspaces.list({ ids: [all[0].id] })) some.push(w);
  assert.deepEqual(some.map((w) => w.id), [all[0].id]);
  const withDefault = [];
  for await (const w of org.workspaces.list({ include_default: true })) withDefault.push(w);
  assert.equal(withDefault.length, all.length + 1);
  for (const w of withDefault) hasKeys(w, WORKSPACE_KEYS, 'BetaWorkspace');
});

check('invites.create takes rbac_group_ids; BetaOrganizationInvite has them', async () => {
  const inv = await org.invites.create({ email: 'sdk@example.com', role: 'developer', rbac_group_ids: ['rbac_group_01sdk'] });
  hasKeys(inv, INVITE_KEYS, 'BetaOrganizationInvite');
  assert.deepEqual(inv.rbac_group_ids, ['rbac_group_01sdk']);
  const again = await org.invites.retrieve(inv.id);
  assert.deepEqual(again.rbac_group_ids, ['rbac_group_01sdk']);
});

check('users.signOut (beta admin-user-sign-out-2026-10-08) answers the BetaOrganizationUser', async () => {
  const users = [];
  for await (const u of org.users.list()) users.push(u);
  const u = await org.users.signOut(users[0].id);
  hasKeys(u, ['id', 'added_at', 'email', 'name', 'role', 'type'], 'BetaOrganizationUser');
  assert.equal(u.id, users[0].id);
  const r = await lastRequest();
  assert.match(r.headers['anthropic-beta'], /admin-user-sign-out-2026-10-08/);
});

let passed = 0;
let failed = 0;
for (const [i, c] of checks.entries()) {
  await control('POST', 'reset');
  try {
    await c.fn();
    passed++;
    console.log(`ok ${i + 1} - ${c.name}`);
  } catch (e) {
    failed++;
    console.log(`not ok ${i + 1} - ${c.name}`);
    for (const line of String(e && e.stack || e).split('\n').slice(0, 6)) console.log(`# ${line}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
