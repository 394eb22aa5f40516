// Independent ActivityPub peer built on Fedify, for Rose Ash interop tests.
//
// Runs ONE actor (default `alice`, a Person with an RSASSA-PKCS1-v1_5 key pair
// generated at start) on plain http on loopback, plus a JSON control API under
// /control/ that the Python tests drive (see tests/interop/fedify.py).
//
//   node server.mjs --port 8090 [--host 127.0.0.1] [--actor alice]
//                   [--first-knock rfc9421|draft-cavage-http-signatures-12]
//                   [--origin http://fedify:8090]
//
// --origin is the peer's public origin when it is not http://host:port (in a
// container listening on 0.0.0.0: the name others reach it by).
// Env fallbacks: FEDIFY_PEER_PORT, FEDIFY_PEER_HOST, FEDIFY_PEER_ACTOR,
// FEDIFY_FIRST_KNOCK, FEDIFY_PEER_ORIGIN, FEDIFY_LOG (logtape level for Fedify's own logs,
// default "warning"; written to stderr).
//
// No message queue is configured, so outgoing sends happen immediately and
// inbox listeners run inline, which keeps the tests deterministic.

import http from "node:http";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { Temporal } from "@js-temporal/polyfill";
import { configure, getConsoleSink } from "@logtape/logtape";
import {
  createFederation,
  generateCryptoKeyPair,
  getDocumentLoader,
  MemoryKvStore,
  signRequest,
  verifyRequestDetailed,
} from "@fedify/fedify";
import {
  Accept,
  Activity,
  Announce,
  Create,
  Delete,
  Endpoints,
  Follow,
  getTypeId,
  isActor,
  Like,
  Note,
  Object as APObject,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  Tombstone,
  Undo,
  Update,
} from "@fedify/fedify/vocab";
// Fedify's own JSON-LD processor (a dependency of @fedify/fedify, pinned by package-lock.json).
import jsonld from "jsonld";

const SPECS = ["rfc9421", "draft-cavage-http-signatures-12"];
const SPEC_ALIASES = {
  rfc9421: "rfc9421",
  "draft-cavage-http-signatures-12": "draft-cavage-http-signatures-12",
  "draft-cavage": "draft-cavage-http-signatures-12",
  cavage: "draft-cavage-http-signatures-12",
};

// ---------------------------------------------------------------- options --

const { values: args } = parseArgs({
  options: {
    port: { type: "string" },
    host: { type: "string" },
    actor: { type: "string" },
    "first-knock": { type: "string" },
    origin: { type: "string" },
  },
});

const PORT = Number(args.port ?? process.env.FEDIFY_PEER_PORT ?? 0);
const HOST = args.host ?? process.env.FEDIFY_PEER_HOST ?? "127.0.0.1";
const ACTOR = args.actor ?? process.env.FEDIFY_PEER_ACTOR ?? "alice";
const PUBLIC_ORIGIN = args.origin ?? process.env.FEDIFY_PEER_ORIGIN ?? null;
const FIRST_KNOCK =
  SPEC_ALIASES[args["first-knock"] ?? process.env.FEDIFY_FIRST_KNOCK ?? "rfc9421"];
if (FIRST_KNOCK == null) {
  console.error(`unknown --first-knock; use one of ${SPECS.join(", ")}`);
  process.exit(2);
}
if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) {
  console.error("invalid --port");
  process.exit(2);
}

await configure({
  sinks: { console: getConsoleSink({ console: { ...console, debug: console.error, info: console.error, log: console.error, warn: console.error } }) },
  loggers: [
    { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    {
      category: ["fedify"],
      sinks: ["console"],
      lowestLevel: process.env.FEDIFY_LOG ?? "warning",
    },
  ],
});

// ------------------------------------------------------------------ state --

// Memory KV that never caches remote documents (Fedify's default loader caches
// fetched actors/objects for 5 minutes, which would hide updates and key
// rotations of restarted Python peers) and can be wiped by /control/reset.
class TestKvStore extends MemoryKvStore {
  set(key, value, options) {
    if (key[0] === "_fedify" && key[1] === "remoteDocument") {
      return Promise.resolve();
    }
    return super.set(key, value, options);
  }
  async clear() {
    const keys = [];
    for await (const { key } of this.list()) keys.push(key);
    for (const key of keys) await this.delete(key);
  }
}

const kv = new TestKvStore();
let keyPair = null; // RSASSA-PKCS1-v1_5, generated at start
const state = {
  inbox: [], // verified activities received (in order)
  deliveries: [], // every POST to an inbox path, verified or not
  requests: [], // every signed GET/HEAD outside /control, with Fedify's verdict on its signature
  errors: [], // inbox listener errors
  followers: new Map(), // actor id -> { id, inboxId, sharedInbox, followId }
  following: new Map(), // our Follow id -> { ... state ... }
  served: new Map(), // URL of an activity we sent -> JSON-LD (dereferenceable)
  pendingBodies: new Map(), // activity id -> delivery record (correlation)
  followPolicy: "accept", // accept | reject | ignore
  seq: 0,
};

const RECORDED_HEADERS = [
  "accept",
  "content-digest",
  "content-type",
  "date",
  "digest",
  "host",
  "signature",
  "signature-input",
  "user-agent",
];

function pickHeaders(headers) {
  const out = {};
  for (const name of RECORDED_HEADERS) {
    const v = headers.get(name);
    if (v != null) out[name] = v;
  }
  return out;
}

let ORIGIN = null; // set once the server listens
let federation = null;

// ---------------------------------------------------------------- helpers --

function typeName(obj) {
  if (obj == null) return null;
  try {
    const id = getTypeId(obj).href;
    return id.replace(/^.*[#/]/, "");
  } catch {
    return obj.constructor?.name ?? null;
  }
}

const str = (v) => (v == null ? null : String(v));
const href = (v) => (v == null ? null : v instanceof URL ? v.href : v.href ?? String(v));

async function safe(fn) {
  try {
    return await fn();
  } catch {
    return null;
  }
}

// A flat, JSON-friendly view of an object as Fedify's vocabulary parsed it.
async function summarize(obj, loaders = {}) {
  if (obj == null) return null;
  if (obj instanceof URL) return { type: null, id: obj.href };
  const s = { type: typeName(obj), id: href(obj.id) };
  const get = (name) => {
    try {
      return name in obj ? obj[name] : undefined;
    } catch {
      return undefined;
    }
  };
  for (const name of ["name", "content", "summary", "preferredUsername", "mediaType"]) {
    const v = get(name);
    if (v !== undefined) s[name] = str(v);
  }
  for (const name of ["startTime", "endTime", "published", "updated", "deleted"]) {
    const v = get(name);
    if (v !== undefined) s[name] = v == null ? null : v.toString();
  }
  const ft = get("formerType");
  if (ft !== undefined) {
    // A vocabulary class (Fedify resolved the type) or whatever else it kept.
    const name = typeof ft === "function" ? ft.typeId?.href ?? ft.name : typeName(ft) ?? str(ft);
    s.formerType = name == null ? null : name.replace(/^.*[#/]/, "");
  }
  for (const name of [
    "attributionId",
    "inReplyToId",
    "inboxId",
    "outboxId",
    "followersId",
    "followingId",
    "actorId",
    "objectId",
    "targetId",
    "resultId",
    "firstId",
    "lastId",
    "nextId",
    "prevId",
    "partOfId",
    "currentId",
  ]) {
    const v = get(name);
    if (v !== undefined) s[name.replace(/Id$/, "")] = href(v);
  }
  const url = get("url");
  if (url !== undefined) s.url = url == null ? null : href(url);
  for (const name of ["toIds", "ccIds"]) {
    const v = get(name);
    if (Array.isArray(v)) s[name.replace(/Ids$/, "")] = v.map(href);
  }
  const total = get("totalItems");
  if (total !== undefined) s.totalItems = total;
  const itemIds = get("itemIds");
  if (Array.isArray(itemIds)) s.items = itemIds.map(href);
  const endpoints = get("endpoints");
  if (endpoints !== undefined) s.sharedInbox = href(endpoints?.sharedInbox ?? null);
  if (typeof obj.getPublicKey === "function") {
    const key = await safe(() => obj.getPublicKey(loaders));
    s.publicKeyId = href(key?.id ?? null);
  }
  if (typeof obj.getResult === "function" && get("resultId") != null) {
    const res = await safe(() => obj.getResult(loaders));
    if (res != null && !(res instanceof URL)) s.result_object = await summarize(res, loaders);
  }
  if (typeof obj.getLocation === "function") {
    const locId = get("locationId");
    const loc = await safe(() => obj.getLocation({ ...loaders, suppressError: true }));
    if (loc != null || locId != null) {
      s.location = {
        type: typeName(loc),
        id: href(loc?.id ?? locId),
        name: str(loc?.name ?? null),
      };
    } else {
      s.location = null;
    }
  }
  return s;
}

// Terms of `document` that its @context does not define.  The ActivityStreams context maps unknown
// terms to blank-node IRIs ("@vocab": "_:"), which JSON-LD consumers (Fedify among them) ignore:
// such a term is lost on the way.  Also references left relative (a bare "Event" where the term wants
// an IRI), and any expansion warning or error.
async function droppedTerms(document, contextLoader) {
  const found = [];
  if (document == null || typeof document !== "object") return found;
  const walk = (node, path) => {
    if (Array.isArray(node)) {
      node.forEach((n) => walk(n, path));
      return;
    }
    if (node == null || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith("_:")) found.push({ code: "undefined term", property: key.slice(2), path });
      if (key === "@id" && typeof value === "string" && !/^([a-z][a-z0-9+.-]*:|_:)/i.test(value)) {
        // Expanded with no base: a reference left relative is one a consumer cannot resolve.
        found.push({ code: "relative IRI", value, path });
      }
      if (key === "@type") {
        for (const t of [].concat(value)) {
          if (typeof t === "string" && t.startsWith("_:")) found.push({ code: "undefined type", type: t.slice(2), path });
        }
      }
      const term = key.replace(/^.*[#/:]/, "");
      if (!key.startsWith("@")) walk(value, path === "" ? term : `${path}/${term}`);
      else if (key === "@list" || key === "@set" || key === "@graph") walk(value, path);
    }
  };
  try {
    const expanded = await jsonld.expand(structuredClone(document), {
      documentLoader: contextLoader,
      eventHandler: ({ event, next }) => {
        found.push({ code: event.code, ...JSON.parse(JSON.stringify(event.details ?? {})) });
        if (next != null) next();
      },
    });
    walk(expanded, "");
  } catch (e) {
    found.push({ code: "expansion error", error: String(e?.message ?? e) });
  }
  return found;
}

// Fedify throws "Invalid type" for a type outside its vocabulary (e.g. schema:Order).  With
// as_object, the document's own type is kept and as:Object added, so Fedify reads it as a plain
// Object: every property still goes through Fedify's vocabulary.
function asObject(document, enabled) {
  if (!enabled || document == null || typeof document !== "object") return document;
  const types = [].concat(document.type ?? []);
  return { ...document, type: ["Object", ...types.filter((t) => t !== "Object")] };
}

async function toJsonLd(obj) {
  return await safe(() => obj.toJsonLd({ format: "compact" }));
}

function signatureSpecOf(headers) {
  const get = (n) => (typeof headers.get === "function" ? headers.get(n) : headers[n]);
  if (get("signature-input")) return "rfc9421";
  if (get("signature")) return "draft-cavage-http-signatures-12";
  return null;
}

function json(data, status = 200) {
  return new Response(JSON.stringify(data, null, 2), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function actorUri(ctx) {
  return ctx.getActorUri(ACTOR);
}

function newLocalId(kind) {
  return new URL(`/${kind}/${randomUUID()}`, ORIGIN);
}

function parseHandle(handle) {
  const m = /^(?:acct:)?@?([^@\s]+)@([^@\s/]+)$/.exec(handle.trim());
  if (m == null) throw new Error(`not a handle: ${handle}`);
  return { user: m[1], host: m[2] };
}

// WebFinger over the handle host's own scheme.  Fedify's lookupWebFinger
// always uses https for acct: resources; our peers are plain http on loopback,
// so we query http:// ourselves (https is tried if `scheme` says so).
async function webfinger(handle, scheme = "http") {
  const { user, host } = parseHandle(handle);
  const resource = `acct:${user}@${host}`;
  const url = `${scheme}://${host}/.well-known/webfinger?resource=${encodeURIComponent(resource)}`;
  const res = await fetch(url, { headers: { accept: "application/jrd+json, application/json" } });
  const text = await res.text();
  if (!res.ok) throw new Error(`WebFinger ${url} -> ${res.status}: ${text.slice(0, 300)}`);
  return selfLink(JSON.parse(text), resource);
}

// Fedify's own WebFinger look-up, as a production server (and Mastodon) does
// it: https only, the certificate verified against Node's CAs (plus
// NODE_EXTRA_CA_CERTS).
async function fedifyWebfinger(ctx, handle) {
  const { user, host } = parseHandle(handle);
  const resource = `acct:${user}@${host}`;
  const jrd = await ctx.lookupWebFinger(resource);
  if (jrd == null) throw new Error(`WebFinger for ${resource} over https found nothing`);
  return selfLink(jrd, resource);
}

function selfLink(jrd, resource) {
  const self = (jrd.links ?? []).find(
    (l) =>
      l.rel === "self" &&
      (l.type === "application/activity+json" ||
        (l.type ?? "").startsWith("application/ld+json")),
  );
  if (self?.href == null) throw new Error(`WebFinger for ${resource} has no self link`);
  return { jrd, actorUrl: self.href, resource };
}

function unsignedLoader() {
  // Fresh, uncached loader that may reach loopback (preloaded contexts still apply).
  return getDocumentLoader({ allowPrivateAddress: true });
}

async function signedLoader(ctx) {
  return await ctx.getDocumentLoader({ identifier: ACTOR });
}

// `webfinger: "fedify"` resolves the handle with Fedify's own look-up (https).
async function resolveActor(ctx, { handle, actor, webfinger: how }) {
  const documentLoader = await signedLoader(ctx);
  let actorUrl = actor;
  let jrd = null;
  if (handle != null) {
    const wf = how === "fedify" ? await fedifyWebfinger(ctx, handle) : await webfinger(handle);
    actorUrl = wf.actorUrl;
    jrd = wf.jrd;
  }
  if (actorUrl == null) throw new Error("need 'handle' or 'actor'");
  const obj = await ctx.lookupObject(actorUrl, { documentLoader });
  if (obj == null) throw new Error(`could not fetch actor ${actorUrl}`);
  if (!isActor(obj)) throw new Error(`${actorUrl} is a ${typeName(obj)}, not an actor`);
  return { actor: obj, jrd, documentLoader };
}

// Single-knock signed GET with a forced spec (no double-knock fallback).
async function signedGet(ctx, url, spec) {
  const pair = (await ctx.getActorKeyPairs(ACTOR))[0];
  const req = new Request(url, {
    headers: { accept: 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"' },
  });
  const signed = await signRequest(req, pair.privateKey, pair.keyId, { spec });
  const res = await fetch(signed, { redirect: "manual" });
  const text = await res.text();
  return { status: res.status, text, url: res.url || url };
}

// ------------------------------------------------------------- federation --

function buildFederation() {
  const fed = createFederation({
    kv,
    origin: ORIGIN,
    allowPrivateAddress: true,
    firstKnock: FIRST_KNOCK,
  });

  fed
    .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
      if (identifier !== ACTOR) return null;
      const keys = await ctx.getActorKeyPairs(identifier);
      return new Person({
        id: ctx.getActorUri(identifier),
        preferredUsername: identifier,
        name: `${identifier} (Fedify interop peer)`,
        summary: "Independent Fedify peer used by Rose Ash interop tests.",
        url: ctx.getActorUri(identifier),
        inbox: ctx.getInboxUri(identifier),
        outbox: ctx.getOutboxUri(identifier),
        followers: ctx.getFollowersUri(identifier),
        following: ctx.getFollowingUri(identifier),
        endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
        manuallyApprovesFollowers: false,
        publicKey: keys[0].cryptographicKey,
        assertionMethods: keys.map((k) => k.multikey),
      });
    })
    .mapHandle((_ctx, username) => (username === ACTOR ? ACTOR : null))
    .setKeyPairsDispatcher((_ctx, identifier) => {
      if (identifier !== ACTOR) return [];
      return [keyPair];
    });

  fed.setOutboxDispatcher("/users/{identifier}/outbox", () => ({ items: [] }));
  fed.setFollowingDispatcher("/users/{identifier}/following", (_ctx, identifier) => {
    if (identifier !== ACTOR) return null;
    const items = [...state.following.values()]
      .filter((f) => f.state === "accepted")
      .map((f) => new URL(f.object));
    return { items };
  });
  fed
    .setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
      if (identifier !== ACTOR) return null;
      const items = [...state.followers.values()].map((f) => ({
        id: new URL(f.id),
        inboxId: f.inboxId == null ? null : new URL(f.inboxId),
        endpoints: f.sharedInbox == null ? null : { sharedInbox: new URL(f.sharedInbox) },
      }));
      return { items };
    })
    .setCounter((_ctx, identifier) => (identifier === ACTOR ? state.followers.size : null));

  fed
    .setInboxListeners("/users/{identifier}/inbox", "/inbox")
    .setSharedKeyDispatcher(() => ({ identifier: ACTOR }))
    .on(Activity, onActivity)
    .onError((_ctx, error) => {
      state.errors.push({ at: new Date().toISOString(), error: String(error?.stack ?? error) });
    })
    .onUnverifiedActivity((_ctx, activity, reason) => {
      const d = state.pendingBodies.get(href(activity.id));
      if (d != null) {
        d.unverified_reason = reason.type;
        if (reason.keyId != null) d.unverified_key_id = href(reason.keyId);
      }
      // fall through: Fedify answers 401
    });
  return fed;
}

async function onActivity(ctx, activity) {
  const documentLoader = await safe(() => signedLoader(ctx));
  const loaders = { documentLoader: documentLoader ?? ctx.documentLoader, contextLoader: ctx.contextLoader };
  const delivery = state.pendingBodies.get(href(activity.id));
  const record = {
    seq: ++state.seq,
    received_at: new Date().toISOString(),
    id: href(activity.id),
    type: typeName(activity),
    actor: href(activity.actorId),
    object_id: href(activity.objectId),
    object: null,
    object_error: null,
    embedded_object: null,
    inbox_path: delivery?.path ?? null,
    recipient: ctx.recipient ?? null,
    signature_spec: delivery?.signature_spec ?? null,
    json_ld: await toJsonLd(activity),
    received: delivery?.body_json ?? null,
    dropped: await droppedTerms(delivery?.body_json ?? null, ctx.contextLoader),
    reply: null,
  };
  state.inbox.push(record);

  // The object as Fedify sees it (default cross-origin policy: an embedded
  // object from another origin is re-fetched by id).
  try {
    const obj = await activity.getObject({ ...loaders });
    record.object = await summarize(obj, loaders);
  } catch (e) {
    record.object_error = String(e?.message ?? e);
  }
  if (record.object == null && activity.objectId != null) {
    // What was embedded, ignoring the origin check (for diagnostics).
    const emb = await safe(() => activity.getObject({ ...loaders, crossOrigin: "trust" }));
    if (emb != null && !(emb instanceof URL)) record.embedded_object = await summarize(emb, loaders);
  }

  if (activity instanceof Follow) {
    await onFollow(ctx, activity, record);
  } else if (activity instanceof Accept || activity instanceof Reject) {
    onFollowReply(activity, record);
  } else if (activity instanceof Undo) {
    const inner = record.object ?? record.embedded_object;
    if (inner?.type === "Follow") {
      const f = state.followers.get(record.actor);
      if (f != null && (inner.id == null || f.followId == null || f.followId === inner.id)) {
        state.followers.delete(record.actor);
      }
    }
  }
}

async function onFollow(ctx, follow, record) {
  if (follow.objectId?.href !== actorUri(ctx).href) return;
  if (follow.actorId == null) return;
  const policy = state.followPolicy;
  if (policy === "ignore") return;
  const followerId = follow.actorId.href;
  if (policy === "accept") {
    state.followers.set(followerId, {
      id: followerId,
      inboxId: null,
      sharedInbox: null,
      followId: href(follow.id),
      at: new Date().toISOString(),
    });
  }
  // Reply after the inbox request has been answered, so a sender that does
  // not handle concurrent requests cannot deadlock on our Accept.
  record.reply = { type: policy === "accept" ? "Accept" : "Reject", id: null, status: "pending" };
  setImmediate(async () => {
    try {
      const documentLoader = await signedLoader(ctx);
      const follower = await follow.getActor({ documentLoader, contextLoader: ctx.contextLoader });
      if (follower == null) throw new Error(`cannot fetch follower ${followerId}`);
      const entry = state.followers.get(followerId);
      if (entry != null) {
        entry.inboxId = href(follower.inboxId);
        entry.sharedInbox = href(follower.endpoints?.sharedInbox ?? null);
      }
      const Cls = policy === "accept" ? Accept : Reject;
      const id = newLocalId(policy === "accept" ? "accepts" : "rejects");
      const reply = new Cls({ id, actor: actorUri(ctx), object: follow, to: follow.actorId });
      state.served.set(id.href, await reply.toJsonLd({ format: "compact" }));
      record.reply.id = id.href;
      await ctx.sendActivity({ identifier: ACTOR }, follower, reply);
      record.reply.status = "sent";
    } catch (e) {
      record.reply.status = "error";
      record.reply.error = String(e?.message ?? e);
    }
  });
}

function onFollowReply(activity, record) {
  const inner = record.object ?? record.embedded_object;
  const followId = inner?.id ?? record.object_id;
  let entry = followId != null ? state.following.get(followId) : undefined;
  if (entry == null) {
    // Fall back to the newest pending Follow of that actor.
    entry = [...state.following.values()]
      .reverse()
      .find((f) => f.object === record.actor && f.state === "pending");
  }
  if (entry == null) return;
  entry.state = activity instanceof Accept ? "accepted" : "rejected";
  entry.reply_id = record.id;
  entry.reply_at = record.received_at;
  record.follow_id = entry.id;
}

// ------------------------------------------------------------ control API --

async function readJson(request) {
  const text = await request.text();
  if (text.trim() === "") return {};
  return JSON.parse(text);
}

async function controlInfo() {
  const ctx = federation.createContext(new URL(ORIGIN));
  const pairs = await ctx.getActorKeyPairs(ACTOR);
  return json({
    ok: true,
    origin: ORIGIN,
    actor_id: actorUri(ctx).href,
    handle: `${ACTOR}@${new URL(ORIGIN).host}`,
    inbox: ctx.getInboxUri(ACTOR).href,
    shared_inbox: ctx.getInboxUri().href,
    followers: ctx.getFollowersUri(ACTOR).href,
    key_id: pairs[0].keyId.href,
    first_knock: FIRST_KNOCK,
    follow_policy: state.followPolicy,
    node: process.version,
    fedify: "2.3.6",
  });
}

async function controlFollow(body) {
  const ctx = federation.createContext(new URL(ORIGIN));
  let resolved;
  try {
    resolved = await resolveActor(ctx, body);
  } catch (e) {
    return json({ ok: false, stage: "lookup", error: String(e?.message ?? e) }, 200);
  }
  const target = resolved.actor;
  const id = newLocalId("follows");
  const follow = new Follow({ id, actor: actorUri(ctx), object: target.id, to: target.id });
  const entry = {
    id: id.href,
    object: target.id.href,
    inbox: href(target.inboxId),
    state: "pending",
    sent_at: new Date().toISOString(),
    reply_id: null,
  };
  state.following.set(id.href, entry);
  state.served.set(id.href, await follow.toJsonLd({ format: "compact" }));
  try {
    await ctx.sendActivity({ identifier: ACTOR }, target, follow, { immediate: true });
  } catch (e) {
    entry.state = "send-failed";
    entry.error = String(e?.message ?? e);
    return json({ ok: false, stage: "send", follow_id: id.href, actor: entry.object, error: entry.error });
  }
  return json({ ok: true, follow_id: id.href, actor: entry.object, inbox: entry.inbox, webfinger: resolved.jrd });
}

async function controlLookup(body) {
  const ctx = federation.createContext(new URL(ORIGIN));
  let url = body.url;
  let jrd = null;
  try {
    if (url == null && body.handle != null) {
      const wf = await webfinger(body.handle);
      url = wf.actorUrl;
      jrd = wf.jrd;
    }
    if (url == null) throw new Error("need 'url' or 'handle'");
    const signed = body.signed !== false;
    const spec = body.spec == null ? null : SPEC_ALIASES[body.spec];
    if (body.spec != null && spec == null) throw new Error(`unknown spec ${body.spec}`);
    let document;
    let documentUrl = url;
    let status = null;
    if (signed && spec != null) {
      // Forced spec, single knock.
      const r = await signedGet(ctx, url, spec);
      status = r.status;
      if (r.status < 200 || r.status >= 300) {
        return json({ ok: false, status, error: `HTTP ${r.status}`, body: r.text.slice(0, 2000), signed, spec });
      }
      document = JSON.parse(r.text);
    } else {
      const loader = signed ? await signedLoader(ctx) : unsignedLoader();
      const remote = await loader(url);
      document = remote.document;
      documentUrl = remote.documentUrl ?? url;
    }
    const loaders = {
      documentLoader: signed ? await signedLoader(ctx) : unsignedLoader(),
      contextLoader: ctx.contextLoader,
    };
    const obj = await APObject.fromJsonLd(asObject(document, body.as_object), {
      ...loaders,
      baseUrl: new URL(documentUrl),
    });
    const summary = await summarize(obj, loaders);
    return json({
      ok: true,
      ...summary,
      dropped: await droppedTerms(document, ctx.contextLoader),
      status,
      signed,
      spec: signed ? spec ?? `double-knock(first=${FIRST_KNOCK})` : null,
      document_url: documentUrl,
      webfinger: jrd,
      json_ld: await toJsonLd(obj),
      raw: document,
    });
  } catch (e) {
    const msg = String(e?.message ?? e);
    const m = /HTTP (\d{3})/.exec(msg);
    return json({ ok: false, error: msg, status: m ? Number(m[1]) : null });
  }
}

async function controlSend(body) {
  const ctx = federation.createContext(new URL(ORIGIN));
  const specIn = body.spec ?? FIRST_KNOCK;
  const spec = specIn === "none" ? "none" : SPEC_ALIASES[specIn];
  if (spec == null) return json({ ok: false, error: `unknown spec ${specIn}` }, 400);
  if (body.activity == null || typeof body.activity !== "object") {
    return json({ ok: false, error: "need 'activity' (JSON-LD object)" }, 400);
  }
  let inbox = body.inbox ?? null;
  let target = null;
  if (inbox == null) {
    try {
      const { actor } = await resolveActor(ctx, { handle: body.handle, actor: body.to });
      target = actor.id.href;
      inbox =
        body.shared_inbox === true && actor.endpoints?.sharedInbox != null
          ? actor.endpoints.sharedInbox.href
          : href(actor.inboxId);
    } catch (e) {
      return json({ ok: false, stage: "lookup", error: String(e?.message ?? e) });
    }
    if (inbox == null) return json({ ok: false, stage: "lookup", error: "actor has no inbox" });
  }
  const activity = structuredClone(body.activity);
  if (body.fill_defaults !== false) {
    if (activity["@context"] == null) activity["@context"] = "https://www.w3.org/ns/activitystreams";
    if (activity.actor == null) activity.actor = actorUri(ctx).href;
    if (activity.id == null) activity.id = newLocalId("activities").href;
  }
  if (typeof activity.id === "string" && activity.id.startsWith(ORIGIN)) {
    state.served.set(activity.id, activity);
  }
  const payload = JSON.stringify(activity);
  const request = new Request(inbox, {
    method: "POST",
    headers: {
      "content-type": "application/activity+json",
      accept: "application/activity+json, application/ld+json, application/json",
    },
    body: payload,
  });
  let toSend = request;
  if (spec !== "none") {
    const pair = (await ctx.getActorKeyPairs(ACTOR))[0];
    const keyId = body.key_id != null ? new URL(body.key_id) : pair.keyId;
    const options = { spec };
    if (body.signed_at != null) options.currentTime = Temporal.Instant.from(body.signed_at);
    toSend = await signRequest(request, pair.privateKey, keyId, options);
  }
  if (body.tamper_body === true) {
    // Same (signed) headers, different body: digest / signature must fail.
    const tampered = JSON.stringify({ ...activity, tampered: true });
    toSend = new Request(toSend.url, { method: "POST", headers: toSend.headers, body: tampered });
  }
  const sentHeaders = {};
  for (const name of ["signature", "signature-input", "digest", "content-digest", "date", "host", "content-type"]) {
    const v = toSend.headers.get(name);
    if (v != null) sentHeaders[name] = v;
  }
  try {
    const res = await fetch(toSend, { redirect: "manual" });
    const text = await res.text();
    return json({
      ok: res.status >= 200 && res.status < 300,
      status: res.status,
      body: text,
      inbox,
      to: target,
      spec,
      activity,
      request_headers: sentHeaders,
    });
  } catch (e) {
    return json({ ok: false, stage: "send", inbox, spec, error: String(e?.cause?.message ?? e?.message ?? e) });
  }
}

// Interact with another server's object the way a Fedify app does: Fedify's own vocabulary builds the
// activity and Fedify's sender signs and delivers it to actor `to`.
//   {kind: "reply", object: <post>, content: <html>, to}   Create(Note{inReplyTo: post})
//   {kind: "like" | "announce", object: <post>, to}        Like / Announce of the post
//   {kind: "undo", object: <id of a like/announce sent here>, to}
//   {kind: "update", object: <id of a reply's Note sent here>, content, to}   Update(Note), the new content
//   {kind: "delete", object: <id of a reply's Note sent here>, to}            Delete(Tombstone)
const interactions = new Map(); // id of an activity sent by controlInteract -> the Activity
const replies = new Map(); // id of a reply's Note -> the post it answers
async function controlInteract(body) {
  const ctx = federation.createContext(new URL(ORIGIN));
  let target;
  try {
    ({ actor: target } = await resolveActor(ctx, { actor: body.to }));
  } catch (e) {
    return json({ ok: false, stage: "lookup", error: String(e?.message ?? e) });
  }
  const me = actorUri(ctx);
  const id = newLocalId("activities");
  let activity;
  let objectId = null;
  if (body.kind === "reply") {
    const noteId = newLocalId("notes");
    const note = new Note({
      id: noteId,
      attribution: me, // Fedify's names for attributedTo and inReplyTo
      replyTarget: new URL(body.object),
      content: body.content,
      published: Temporal.Now.instant(),
      to: PUBLIC_COLLECTION,
      cc: target.id,
    });
    state.served.set(noteId.href, await note.toJsonLd({ format: "compact" }));
    replies.set(noteId.href, body.object);
    activity = new Create({ id, actor: me, object: note, to: PUBLIC_COLLECTION, cc: target.id });
    objectId = noteId.href;
  } else if (body.kind === "update" || body.kind === "delete") {
    const post = replies.get(body.object);
    if (post == null) return json({ ok: false, error: `no reply ${body.object} was sent here` }, 400);
    const noteId = new URL(body.object);
    if (body.kind === "update") {
      const note = new Note({
        id: noteId,
        attribution: me,
        replyTarget: new URL(post),
        content: body.content,
        updated: Temporal.Now.instant(),
        to: PUBLIC_COLLECTION,
        cc: target.id,
      });
      state.served.set(noteId.href, await note.toJsonLd({ format: "compact" }));
      activity = new Update({ id, actor: me, object: note, to: PUBLIC_COLLECTION, cc: target.id });
    } else {
      state.served.delete(noteId.href);
      activity = new Delete({ id, actor: me, object: new Tombstone({ id: noteId }), to: PUBLIC_COLLECTION, cc: target.id });
    }
    objectId = noteId.href;
  } else if (body.kind === "like" || body.kind === "announce") {
    const Kind = body.kind === "like" ? Like : Announce;
    activity = new Kind({ id, actor: me, object: new URL(body.object), to: target.id });
  } else if (body.kind === "undo") {
    const undone = interactions.get(body.object);
    if (undone == null) return json({ ok: false, error: `no activity ${body.object} was sent here` }, 400);
    activity = new Undo({ id, actor: me, object: undone, to: target.id });
  } else {
    return json({ ok: false, error: "kind must be reply, like, announce or undo" }, 400);
  }
  interactions.set(id.href, activity);
  const document = await activity.toJsonLd({ format: "compact" });
  state.served.set(id.href, document);
  try {
    await ctx.sendActivity({ identifier: ACTOR }, target, activity, { immediate: true });
  } catch (e) {
    return json({ ok: false, stage: "send", id: id.href, error: String(e?.message ?? e) });
  }
  return json({ ok: true, id: id.href, object_id: objectId, activity: document });
}

// Parse a document the test got by other means (e.g. a 410's Tombstone) with Fedify's vocabulary.
async function controlParse(body) {
  const ctx = federation.createContext(new URL(ORIGIN));
  const document = body.document;
  if (document == null || typeof document !== "object") return json({ ok: false, error: "need 'document'" }, 400);
  const loaders = { documentLoader: unsignedLoader(), contextLoader: ctx.contextLoader };
  try {
    const baseUrl = body.base_url != null ? new URL(body.base_url) : undefined;
    const obj = await APObject.fromJsonLd(asObject(document, body.as_object), { ...loaders, baseUrl });
    return json({
      ok: true,
      ...(await summarize(obj, loaders)),
      dropped: await droppedTerms(document, ctx.contextLoader),
      json_ld: await toJsonLd(obj),
    });
  } catch (e) {
    return json({ ok: false, error: String(e?.message ?? e) });
  }
}

// Serve `document` (any JSON-LD) at ORIGIN + path, e.g. an Event organized by alice.
function controlPublish(body) {
  if (typeof body.path !== "string" || !body.path.startsWith("/") || body.path.startsWith("/control")) {
    return json({ ok: false, error: "need 'path' starting with / (not /control)" }, 400);
  }
  if (body.document == null || typeof body.document !== "object") {
    return json({ ok: false, error: "need 'document'" }, 400);
  }
  const url = new URL(body.path, ORIGIN).href;
  state.served.set(url, body.document);
  return json({ ok: true, url });
}

async function controlReset() {
  state.inbox.length = 0;
  state.deliveries.length = 0;
  state.requests.length = 0;
  state.errors.length = 0;
  state.followers.clear();
  state.following.clear();
  state.pendingBodies.clear();
  state.followPolicy = "accept";
  await kv.clear();
  return json({ ok: true });
}

async function handleControl(request, url) {
  const path = url.pathname.replace(/\/+$/, "");
  const method = request.method;
  try {
    if (method === "GET" && (path === "/control" || path === "/control/info")) return await controlInfo();
    if (method === "GET" && path === "/control/inbox") return json(state.inbox);
    if (method === "GET" && path === "/control/deliveries") return json(state.deliveries);
    if (method === "GET" && path === "/control/errors") return json(state.errors);
    if (method === "GET" && path === "/control/requests") return json(state.requests);
    if (method === "POST" && path === "/control/parse") return await controlParse(await readJson(request));
    if (method === "POST" && path === "/control/publish") return controlPublish(await readJson(request));
    if (method === "GET" && path === "/control/followers") {
      return json([...state.followers.values()].map((f) => f.id));
    }
    if (method === "GET" && path === "/control/followers/detail") return json([...state.followers.values()]);
    if (method === "GET" && path === "/control/following") return json([...state.following.values()]);
    if (method === "POST" && path === "/control/follow") return await controlFollow(await readJson(request));
    if (method === "POST" && path === "/control/lookup") return await controlLookup(await readJson(request));
    if (method === "POST" && path === "/control/send") return await controlSend(await readJson(request));
    if (method === "POST" && path === "/control/interact") return await controlInteract(await readJson(request));
    if (method === "POST" && path === "/control/reset") return await controlReset();
    if (method === "POST" && path === "/control/follow-policy") {
      const { policy } = await readJson(request);
      if (!["accept", "reject", "ignore"].includes(policy)) {
        return json({ ok: false, error: "policy must be accept|reject|ignore" }, 400);
      }
      state.followPolicy = policy;
      return json({ ok: true, policy });
    }
    return json({ ok: false, error: `no control route ${method} ${path}` }, 404);
  } catch (e) {
    return json({ ok: false, error: String(e?.stack ?? e) }, 500);
  }
}

// ---------------------------------------------------------------- serving --

const INBOX_PATH = /^\/(users\/[^/]+\/)?inbox\/?$/;

async function handle(request) {
  const url = new URL(request.url);
  if (url.pathname === "/control" || url.pathname.startsWith("/control/")) {
    return await handleControl(request, url);
  }
  if ((request.method === "GET" || request.method === "HEAD") && signatureSpecOf(request.headers) != null) {
    await recordSignedGet(request, url);
  }
  // Activities we sent, dereferenceable by id (Follow, Accept, /control/send).
  if (request.method === "GET" && state.served.has(url.href)) {
    return new Response(JSON.stringify(state.served.get(url.href)), {
      headers: { "content-type": "application/activity+json" },
    });
  }
  let delivery = null;
  if (request.method === "POST" && INBOX_PATH.test(url.pathname)) {
    const text = await request.clone().text();
    let parsed = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    delivery = {
      at: new Date().toISOString(),
      path: url.pathname,
      id: typeof parsed?.id === "string" ? parsed.id : null,
      type: parsed?.type ?? null,
      actor: typeof parsed?.actor === "string" ? parsed.actor : parsed?.actor?.id ?? null,
      signature_spec: signatureSpecOf(request.headers),
      headers: pickHeaders(request.headers),
      status: null,
      unverified_reason: null,
      body_json: parsed,
    };
    if (delivery.id != null) state.pendingBodies.set(delivery.id, delivery);
  }
  const response = await federation.fetch(request, {
    contextData: undefined,
    onNotFound: () => new Response("Not found\n", { status: 404 }),
    onNotAcceptable: () => new Response("Not acceptable\n", { status: 406 }),
  });
  if (delivery != null) {
    delivery.status = response.status;
    const { body_json: body, ...rest } = delivery;
    // Keep the body of a refused delivery, for the tests' diagnostics.
    state.deliveries.push(response.status >= 400 ? { ...rest, body } : rest);
  }
  return response;
}

// Check a signed GET the way a Fedify server would (verifyRequestDetailed: key fetched from the
// signer's actor, clock window one hour) and keep the verdict for the tests.
async function recordSignedGet(request, url) {
  const spec = signatureSpecOf(request.headers);
  const entry = {
    at: new Date().toISOString(),
    method: request.method,
    path: url.pathname,
    url: url.href,
    signature_spec: spec,
    headers: pickHeaders(request.headers),
    verified: false,
    key_id: null,
    key_owner: null,
    reason: null,
  };
  try {
    const ctx = federation.createContext(new URL(ORIGIN));
    const result = await verifyRequestDetailed(request.clone(), {
      documentLoader: unsignedLoader(),
      contextLoader: ctx.contextLoader,
      spec,
    });
    if (result.verified) {
      entry.verified = true;
      entry.key_id = href(result.key.id);
      entry.key_owner = href(result.key.ownerId);
    } else {
      entry.reason = result.reason.type;
      if (result.reason.keyId != null) entry.key_id = href(result.reason.keyId);
    }
  } catch (e) {
    entry.reason = String(e?.message ?? e);
  }
  state.requests.push(entry);
}

function toRequest(req, body) {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value != null) headers.set(name, value);
  }
  const url = new URL(req.url, ORIGIN);
  const init = { method: req.method, headers };
  if (req.method !== "GET" && req.method !== "HEAD" && body.length > 0) init.body = body;
  return new Request(url, init);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    let response;
    try {
      response = await handle(toRequest(req, Buffer.concat(chunks)));
    } catch (e) {
      response = json({ ok: false, error: String(e?.stack ?? e) }, 500);
    }
    const headers = {};
    response.headers.forEach((v, k) => {
      headers[k] = v;
    });
    const buf = Buffer.from(await response.arrayBuffer());
    res.writeHead(response.status, headers);
    res.end(req.method === "HEAD" ? undefined : buf);
  });
});

keyPair = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  const hostForUrl = HOST.includes(":") ? `[${HOST}]` : HOST;
  ORIGIN = PUBLIC_ORIGIN ?? `http://${hostForUrl}:${port}`;
  federation = buildFederation();
  // The Python helper waits for this line (or polls /control/info).
  console.log(`FEDIFY_PEER_READY ${ORIGIN} ${ORIGIN}/users/${ACTOR} first_knock=${FIRST_KNOCK}`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
