'use strict';
/*
 * The peer of `make bench-ingest` (issue 16): what a council's integrator would
 * write instead of charter-ingest, doing the same work per request, so the
 * benchmark can say how far ahead ingest is. POST /v1/contacts:
 *   1. HMAC-SHA256 v2 signature over t.METHOD.PATH.body with the gateway's key
 *      (X-Charter-Gateway, X-Charter-Signature: t=UNIX,v2=HEX; docs/api.md),
 *      refused 401 if stale (5 minutes) or wrong, compared in constant time;
 *   2. JSON parse and the contact's field checks (the same fields and limits as
 *      ingest's: unknown fields, required ones, channel, RFC 3339 time not in
 *      the future, one-line / free-text / e-mail / phone / identifier rules,
 *      the organisation and its case types from policies/*.yaml), 422 naming
 *      the field;
 *   3. ONE Redis script for idempotency and the reference: the same text as
 *      ingest's claim script (services/ingest/pipeline.c), sent by ioredis's
 *      defineCommand (EVALSHA, EVAL on NOSCRIPT);
 *   4. a Kafka write awaited, kafkajs with acks: -1 (all), keyed by case id, on
 *      the same topic as ingest (the persistence check counts both);
 *   5. the outcome recorded (ingest's outcome script, not awaited, as ingest),
 *      then 202 {"case_id", "reference", "event_id"}.
 * GET /stats answers {"accepted": N} (202s sent), for the persistence check.
 *
 * Environment: PORT, REDIS_PORT, BOOTSTRAP (host:port), GATEWAYS_FILE (ingest's
 * gateways file), POLICIES_DIR, TOPIC. One process, one event loop: like ingest.
 */
const http = require('node:http');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const Redis = require('ioredis');
const { Kafka, logLevel } = require('kafkajs');

const PORT = Number(process.env.PORT || 8090);
const TOPIC = process.env.TOPIC || 'charter.contact.events.v1';
const LEASE_MS = '35000'; // ingest: message.timeout.ms (30 s) + grace
const TTL_S = '604800'; // ingest.idempotency window: 7 days
const BODY_MAX = 65536;

// claim_lua and outcome_lua of services/ingest/pipeline.c, verbatim.
const CLAIM_LUA = `local v = redis.call('GET', KEYS[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if v then
  local s = string.sub(v, 1, 2)
  local ids = string.match(v, '^.|([^|]*|[^|]*|[^|]*)')
  if s == 'D|' or not ids then return {2, v} end
  local state = 1
  if s == 'P|' then
    local since = tonumber(string.match(v, '^P|[^|]*|[^|]*|[^|]*|(%d+)$'))
    if since and now - since < tonumber(ARGV[2]) then return {2, v} end
    state = 3
  elseif s ~= 'F|' then
    return {2, v}
  end
  v = 'P|' .. ids .. '|' .. now
  redis.call('SET', KEYS[1], v, 'EX', ARGV[3])
  return {state, v}
end
local ref = ''
if #KEYS > 1 then
  local n = redis.call('INCR', KEYS[2])
  local floor = tonumber(ARGV[5])
  if n <= floor then
    n = floor + 1
    redis.call('SET', KEYS[2], n)
  end
  ref = ARGV[4] .. string.format('%06d', n)
end
v = 'P|' .. ARGV[1] .. '|' .. ref .. '|' .. now
redis.call('SET', KEYS[1], v, 'EX', ARGV[3])
return {0, v}
`;
const OUTCOME_LUA = `if string.sub(ARGV[1], 1, 1) == 'F' then
  local v = redis.call('GET', KEYS[1])
  if v and string.sub(v, 1, 2) == 'D|' then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
`;

// ---- configuration: gateways (ingest's file) and organisations (policies) ----
function loadGateways(file) {
  const gw = new Map();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (!f[0] || f[0].startsWith('#') || f.length < 2) continue;
    const orgs = (f.find((x) => x.startsWith('orgs=')) || 'orgs=').slice(5);
    // keys are used as their characters, not hex-decoded (docs/api.md); one or two (rotation)
    const keys = f.slice(1).filter((x) => !x.includes('=')).map((k) => Buffer.from(k));
    gw.set(f[0], { keys, orgs: orgs === '*' ? null : new Set(orgs.split(',')) });
  }
  return gw;
}
function loadOrganisations(dir) {
  const orgs = new Map();
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    const text = fs.readFileSync(path.join(dir, name), 'utf8');
    const id = /^\s+id:\s*(\S+)/m.exec(text);
    const prefix = /^\s+reference_prefix:\s*(\S+)/m.exec(text);
    if (!id || !prefix) continue;
    const types = new Set([...text.matchAll(/^\s+case_type:\s*(\S+)/gm)].map((m) => m[1]));
    types.add('enquiry');
    orgs.set(id[1], { prefix: prefix[1], caseTypes: types });
  }
  return orgs;
}
const gateways = loadGateways(process.env.GATEWAYS_FILE);
const organisations = loadOrganisations(process.env.POLICIES_DIR);

// ---- field checks (docs/api.md, "Field rules") ----
const CHANNELS = new Set(['phone', 'voicemail', 'email', 'letter', 'online_form', 'social', 'visit',
  'sms']);
const TOP = new Set(['organisation', 'channel', 'received_at', 'customer', 'summary', 'case_type',
  'gateway_message_id', 'parent_case_id', 'subject', 'attachments', 'gateway_account']);
const CUSTOMER = {
  name: ['line', 200], email: ['mailbox', 254], phone: ['phone', 15],
  postal_address: ['text', 500], preferred_channel: ['ident', 32],
  preferred_language: ['language', 35], preferred_format: ['line', 64], social_id: ['ident', 128],
};
const TEXT_BAD = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/; // eslint-disable-line no-control-regex
const LINE_BAD = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/; // eslint-disable-line no-control-regex
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const MAILBOX = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

class Refusal extends Error {
  constructor(status, code, field, message) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}
const refuse = (code, field, message) => { throw new Refusal(422, code, field, message); };

function str(o, key, required, kind, max, prefix = '') {
  const field = prefix + key;
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) refuse('missing_field', field, `field '${field}' is required`);
    return undefined;
  }
  if (typeof v !== 'string') refuse('wrong_type', field, `field '${field}' must be a string`);
  if (required && v === '') refuse('missing_field', field, `field '${field}' must not be empty`);
  if ([...v].length > max) refuse('invalid_value', field, `field '${field}' is longer than ${max} characters`);
  let ok = true;
  let out = v;
  switch (kind) {
    case 'text': ok = !TEXT_BAD.test(v); break;
    case 'line': ok = !LINE_BAD.test(v); break;
    case 'ident': ok = /^[\x21-\x7b\x7d\x7e]*$/.test(v); break;
    case 'mailbox': ok = MAILBOX.test(v); break;
    case 'language': ok = /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(v); break;
    case 'phone': {
      const digits = v.replace(/[\s().-]/g, '');
      if (/^\+[1-9]\d{6,14}$/.test(digits)) out = digits;
      else if (/^0\d{9,10}$/.test(digits)) out = '+44' + digits.slice(1);
      else ok = false;
      break;
    }
    default: break;
  }
  if (!ok) refuse('invalid_value', field, `field '${field}' cannot be used`);
  return out;
}

function checkContact(body, gateway) {
  let c;
  try {
    c = JSON.parse(body);
  } catch (e) {
    throw new Refusal(400, 'invalid_json', null, `the body is not JSON: ${e.message}`);
  }
  if (c === null || typeof c !== 'object' || Array.isArray(c)) {
    throw new Refusal(400, 'invalid_json', null, 'the body must be a JSON object');
  }
  for (const k of Object.keys(c)) if (!TOP.has(k)) refuse('unknown_field', k, `field '${k}' is not part of the API`);
  const ev = { organisation: str(c, 'organisation', true, 'ident', 64) };
  const channel = str(c, 'channel', true, 'ident', 32);
  if (!CHANNELS.has(channel)) refuse('invalid_value', 'channel', `field 'channel' must be one of: ${[...CHANNELS].join(', ')}`);
  const at = str(c, 'received_at', true, 'line', 64);
  const ms = Date.parse(at);
  if (!RFC3339.test(at) || Number.isNaN(ms)) {
    refuse('invalid_value', 'received_at', "field 'received_at' must be an RFC 3339 date-time with an offset");
  }
  if (ms > Date.now() + 300000) refuse('invalid_value', 'received_at', "field 'received_at' is in the future");
  const received = {
    channel,
    summary: str(c, 'summary', false, 'text', 2000),
    case_type: str(c, 'case_type', false, 'ident', 64) || 'enquiry',
    gateway_message_id: str(c, 'gateway_message_id', false, 'ident', 200),
    subject: str(c, 'subject', false, 'line', 200),
    gateway_account: str(c, 'gateway_account', false, 'ident', 128),
  };
  if (c.customer !== undefined && c.customer !== null) {
    if (typeof c.customer !== 'object' || Array.isArray(c.customer)) {
      refuse('wrong_type', 'customer', "field 'customer' must be an object");
    }
    received.customer = {};
    for (const k of Object.keys(c.customer)) {
      const rule = CUSTOMER[k];
      if (!rule) refuse('unknown_field', `customer.${k}`, `field 'customer.${k}' is not part of the API`);
      received.customer[k] = str(c.customer, k, false, rule[0], rule[1], 'customer.');
    }
  }
  const org = organisations.get(ev.organisation);
  if (!org) refuse('unknown_organisation', 'organisation', "field 'organisation' names no organisation Charter knows");
  if (gateway.orgs && !gateway.orgs.has(ev.organisation)) {
    throw new Refusal(403, 'organisation_not_allowed', 'organisation', 'this gateway may not write for this organisation');
  }
  if (!org.caseTypes.has(received.case_type)) {
    refuse('unknown_case_type', 'case_type', `field 'case_type': '${received.case_type}' is not a case type of ${ev.organisation}`);
  }
  ev.occurred_at = at;
  ev.received = received;
  return { ev, org, year: new Date(ms).getUTCFullYear() };
}

function authenticate(req, body) {
  const gw = gateways.get(req.headers['x-charter-gateway'] || '');
  if (!gw) throw new Refusal(401, 'unknown_gateway', null, 'the gateway named in X-Charter-Gateway is not configured here');
  const m = /^t=(\d{1,12}),v2=([0-9a-f]{64})$/.exec(req.headers['x-charter-signature'] || '');
  if (!m) throw new Refusal(401, 'malformed_signature', null, 'X-Charter-Signature must be t=UNIX_SECONDS,v2=HEX');
  if (Math.abs(Date.now() / 1000 - Number(m[1])) > 300) {
    throw new Refusal(401, 'stale_signature', null, 'the signature is more than 5 minutes old');
  }
  const given = Buffer.from(m[2], 'hex');
  const ok = gw.keys.some((key) => crypto.timingSafeEqual(given, crypto.createHmac('sha256', key)
    .update(`${m[1]}.${req.method}.${req.url}.`).update(body).digest()));
  if (!ok) {
    throw new Refusal(401, 'bad_signature', null, 'the signature does not match');
  }
  return gw;
}

// ---- Redis and Kafka ----
const redis = new Redis({ host: '127.0.0.1', port: Number(process.env.REDIS_PORT), enableAutoPipelining: false });
redis.defineCommand('claim', { numberOfKeys: 2, lua: CLAIM_LUA });
redis.defineCommand('outcome', { numberOfKeys: 1, lua: OUTCOME_LUA });
const kafka = new Kafka({ clientId: 'bench-peer', brokers: [process.env.BOOTSTRAP], logLevel: logLevel.ERROR });
const producer = kafka.producer({ allowAutoTopicCreation: false });
const floors = new Map(); // counter key -> highest number issued here (ingest's reference floor)
let accepted = 0;

function send(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function contact(req, res, body) {
  const gw = authenticate(req, body);
  if (!(req.headers['content-type'] || '').startsWith('application/json')) {
    throw new Refusal(415, 'unsupported_media_type', null, 'send Content-Type: application/json');
  }
  const { ev, org, year } = checkContact(body, gw);
  const gmid = ev.received.gateway_message_id;
  if (!gmid) throw new Refusal(422, 'missing_field', 'gateway_message_id', 'this peer needs gateway_message_id');
  const idem = `charter:idem:{${ev.organisation}}:${req.headers['x-charter-gateway']}:${gmid}`;
  const counter = `charter:ref:{${ev.organisation}}:${year}`;
  const eventId = crypto.randomUUID();
  const caseId = crypto.randomUUID();
  const [state, record] = await redis.claim(idem, counter, `${eventId}|${caseId}`, LEASE_MS, TTL_S,
    `${org.prefix}-${year}-`, String(floors.get(counter) || 0));
  const ids = /^.\|([^|]*)\|([^|]*)\|([^|]*)/.exec(record);
  if (!ids) throw new Refusal(503, 'unavailable', null, 'the idempotency record in Redis is unreadable');
  const [, eid, cid, reference] = ids;
  if (state === 2 && record.startsWith('D|')) return send(res, 200, { case_id: cid, reference, event_id: eid });
  if (state === 2) throw new Refusal(409, 'in_progress', 'gateway_message_id', 'being written now; retry');
  const n = Number(reference.slice(reference.lastIndexOf('-') + 1));
  if (n > (floors.get(counter) || 0)) floors.set(counter, n);
  ev.event_id = eid;
  ev.case_id = cid;
  ev.received.reference = reference;
  try {
    await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: cid, value: JSON.stringify(ev) }] });
  } catch (e) {
    redis.outcome(idem, `F|${eid}|${cid}|${reference}`, TTL_S).catch(() => {});
    throw new Refusal(503, 'unavailable', null, 'Kafka did not confirm the write; retry');
  }
  redis.outcome(idem, `D|${eid}|${cid}|${reference}`, TTL_S).catch(() => {});
  accepted++;
  return send(res, 202, { case_id: cid, reference, event_id: eid });
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') return send(res, 200, { accepted });
  if (req.method !== 'POST' || req.url !== '/v1/contacts') return send(res, 404, { error: 'not_found' });
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > BODY_MAX) {
      send(res, 413, { error: 'too_large' });
      req.destroy();
    } else chunks.push(c);
  });
  req.on('end', () => {
    if (size > BODY_MAX) return;
    contact(req, res, Buffer.concat(chunks)).catch((e) => {
      if (e instanceof Refusal) send(res, e.status, { error: e.code, field: e.field, message: e.message });
      else send(res, 503, { error: 'unavailable', message: String(e && e.message) });
    });
  });
});
server.keepAliveTimeout = 60000;

producer.connect().then(() => {
  server.listen(PORT, '127.0.0.1', () => console.log(`peer listening on 127.0.0.1:${PORT}`));
}, (e) => {
  console.error(`peer: cannot connect to Kafka at ${process.env.BOOTSTRAP}: ${e.message}`);
  process.exit(1);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close();
    producer.disconnect().finally(() => redis.quit().finally(() => process.exit(0)));
  });
}
