import assert from "node:assert/strict";
import type { Reply } from "../fixtures/fake-google/http";
import {
  FakeYouTube,
  INVALID_TRANSITION_MESSAGE,
  LIVE_STREAMING_NOT_ENABLED_MESSAGE,
  nextPacificMidnight,
  pacificDay,
  QUOTA_EXCEEDED_MESSAGE,
  REDUNDANT_TRANSITION_MESSAGE,
  STREAM_INACTIVE_MESSAGE,
  YOUTUBE_QUOTA_COSTS,
  youtubeError,
  type FakeYouTubeOptions,
  type LiveBroadcastResource,
  type LiveStreamResource,
} from "../fixtures/fake-google/youtube";

interface YtErr {
  error: { code: number; message: string; errors: { message: string; domain: string; reason: string }[] };
}
interface ListBody<T> {
  kind: string;
  items: T[];
  nextPageToken?: string;
  pageInfo: { totalResults: number; resultsPerPage: number };
}

const STREAM_BODY = {
  snippet: { title: "Front door", description: "Nest camera" },
  cdn: { ingestionType: "rtmp", resolution: "variable", frameRate: "variable" },
  contentDetails: { isReusable: true },
};

function broadcastBody(over: { title?: string; privacy?: string; details?: Record<string, unknown> } = {}) {
  return {
    snippet: { title: over.title ?? "Front door live", scheduledStartTime: "2026-01-01T00:00:00Z" },
    status: { privacyStatus: over.privacy ?? "unlisted", selfDeclaredMadeForKids: false },
    contentDetails: {
      enableAutoStart: false,
      enableAutoStop: false,
      latencyPreference: "normal",
      monitorStream: { enableMonitorStream: false },
      ...over.details,
    },
  };
}

describe("fake YouTube", () => {
  let time: number;
  let yt: FakeYouTube;
  const advance = (ms: number) => {
    time += ms;
  };
  const make = (options: FakeYouTubeOptions = {}) => new FakeYouTube({ now: () => time, ...options });

  function call(method: string, path: string, query: Record<string, string> = {}, body?: unknown): Reply {
    return yt.handle({ method, path, query: new URLSearchParams(query), body });
  }
  function ok<T>(reply: Reply, status = 200): T {
    assert.equal(reply.status, status, reply.body);
    return JSON.parse(reply.body) as T;
  }
  function err(reply: Reply, code: number, reason: string, domain?: string): YtErr["error"] {
    assert.equal(reply.status, code, reply.body);
    const e = (JSON.parse(reply.body) as YtErr).error;
    assert.equal(e.code, code);
    assert.equal(e.errors.length, 1);
    assert.equal(e.errors[0].reason, reason);
    assert.equal(e.errors[0].message, e.message);
    if (domain) assert.equal(e.errors[0].domain, domain);
    return e;
  }
  function insertStream(body: unknown = STREAM_BODY, part = "snippet,cdn,contentDetails,status") {
    return ok<LiveStreamResource>(call("POST", "/liveStreams", { part }, body));
  }
  function insertBroadcast(body: unknown = broadcastBody(), part = "snippet,status,contentDetails") {
    return ok<LiveBroadcastResource>(call("POST", "/liveBroadcasts", { part }, body));
  }
  function bind(id: string, streamId: string) {
    return call("POST", "/liveBroadcasts/bind", { id, streamId, part: "id,contentDetails,status" });
  }
  function transition(id: string, broadcastStatus: string) {
    return call("POST", "/liveBroadcasts/transition", { id, broadcastStatus, part: "status" });
  }
  function streamStatus(id: string): NonNullable<LiveStreamResource["status"]> {
    const list = ok<ListBody<LiveStreamResource>>(call("GET", "/liveStreams", { part: "status", id }));
    const s = list.items[0].status;
    assert.ok(s);
    return s;
  }
  function lifeCycle(id: string): string | undefined {
    const list = ok<ListBody<LiveBroadcastResource>>(call("GET", "/liveBroadcasts", { part: "status", id }));
    return list.items[0]?.status?.lifeCycleStatus;
  }
  /** A stream with media arriving long enough to read active, and a broadcast bound to it. */
  function activeSetup(details: Record<string, unknown> = {}) {
    const stream = insertStream();
    const key = stream.cdn?.ingestionInfo.streamName ?? "";
    const b = insertBroadcast(broadcastBody({ details }));
    ok(bind(b.id, stream.id));
    yt.ingest(key, true);
    advance(3000);
    return { stream, key, b };
  }

  beforeEach(() => {
    time = Date.UTC(2026, 0, 15, 18, 0, 0);
    yt = make();
  });

  describe("envelope and routing", () => {
    it("youtubeError is YouTube's envelope", () => {
      const r = youtubeError(403, "quotaExceeded", "m", "youtube.quota");
      assert.equal(r.status, 403);
      assert.match(r.contentType, /^application\/json/);
      assert.deepEqual(JSON.parse(r.body), {
        error: {
          code: 403,
          message: "m",
          errors: [{ message: "m", domain: "youtube.quota", reason: "quotaExceeded" }],
        },
      });
      assert.equal(JSON.parse(youtubeError(400, "x", "y").body).error.errors[0].domain, "global");
    });

    it("an unknown path answers 404 notFound and costs nothing", () => {
      err(call("GET", "/videos", { part: "id" }), 404, "notFound");
      err(call("PUT", "/liveStreams", { part: "id" }), 404, "notFound");
      assert.equal(yt.unitsUsed(), 0);
      assert.equal(yt.calls[0].name, "unknown");
    });

    it("malformed JSON answers 400 parseError", () => {
      const r = yt.handle({
        method: "POST",
        path: "/liveStreams",
        query: new URLSearchParams({ part: "snippet,cdn" }),
        body: undefined,
        rawBody: "{ not json",
      });
      err(r, 400, "parseError", "global");
      const good = yt.handle({
        method: "POST",
        path: "/liveStreams",
        query: new URLSearchParams({ part: "snippet,cdn" }),
        body: undefined,
        rawBody: JSON.stringify(STREAM_BODY),
      });
      assert.equal(good.status, 200);
    });

    it("the part parameter is required and checked", () => {
      const e = err(call("GET", "/liveStreams", { mine: "true" }), 400, "required", "global");
      assert.equal(e.message, "Required parameter: part");
      err(
        call("GET", "/liveStreams", { part: "snippet,bogus", mine: "true" }),
        400,
        "unknownPart",
        "youtube.part",
      );
      err(call("POST", "/liveBroadcasts", {}, broadcastBody()), 400, "required");
    });
  });

  describe("liveStreams.insert", () => {
    it("answers the liveStream resource with YouTube's ingestion addresses (rtmp)", () => {
      const s = insertStream();
      assert.equal(s.kind, "youtube#liveStream");
      assert.ok(s.etag.length > 10);
      assert.ok(s.id.length > 10);
      assert.equal(s.snippet?.title, "Front door");
      assert.equal(s.snippet?.description, "Nest camera");
      assert.equal(s.snippet?.channelId, yt.channelId);
      assert.equal(s.snippet?.publishedAt, new Date(time).toISOString());
      const info = s.cdn?.ingestionInfo;
      assert.ok(info);
      assert.match(info.streamName, /^[a-z0-9]{4}(-[a-z0-9]{4}){4}$/);
      assert.equal(info.ingestionAddress, "rtmp://a.rtmp.youtube.com/live2");
      assert.equal(info.backupIngestionAddress, "rtmp://b.rtmp.youtube.com/live2?backup=1");
      assert.equal(info.rtmpsIngestionAddress, "rtmps://a.rtmps.youtube.com/live2");
      assert.equal(info.rtmpsBackupIngestionAddress, "rtmps://b.rtmps.youtube.com/live2?backup=1");
      assert.deepEqual(
        { t: s.cdn?.ingestionType, r: s.cdn?.resolution, f: s.cdn?.frameRate },
        { t: "rtmp", r: "variable", f: "variable" },
      );
      assert.deepEqual(s.contentDetails, {
        closedCaptionsIngestionUrl: `http://upload.youtube.com/closedcaption?cid=${info.streamName}`,
        isReusable: true,
      });
      assert.equal(s.status?.streamStatus, "ready");
      assert.equal(s.status?.healthStatus.status, "noData");
      assert.deepEqual(s.status?.healthStatus.configurationIssues, []);
      assert.notEqual(insertStream().cdn?.ingestionInfo.streamName, info.streamName, "a new key each time");
    });

    it("hls: the ingestion address carries the key as cid, copy=0 and an empty file=", () => {
      const s = insertStream({ ...STREAM_BODY, cdn: { ...STREAM_BODY.cdn, ingestionType: "hls" } });
      const info = s.cdn?.ingestionInfo;
      assert.ok(info);
      assert.equal(s.cdn?.ingestionType, "hls");
      assert.equal(
        info.ingestionAddress,
        `https://a.upload.youtube.com/http_upload_hls?cid=${info.streamName}&copy=0&file=`,
      );
      assert.equal(
        info.backupIngestionAddress,
        `https://b.upload.youtube.com/http_upload_hls?cid=${info.streamName}&copy=1&file=`,
      );
      assert.equal(info.rtmpsIngestionAddress, undefined);
    });

    it("hands out the configured local addresses", () => {
      yt = make({
        rtmpBase: "rtmp://127.0.0.1:1935/live2",
        rtmpsBase: "rtmps://127.0.0.1:1936/live2",
        hlsBase: "http://127.0.0.1:8080/hls",
        captionsBase: "http://127.0.0.1:8081/closedcaption",
        channelId: "UCchannel",
      });
      const r = insertStream();
      assert.equal(r.cdn?.ingestionInfo.ingestionAddress, "rtmp://127.0.0.1:1935/live2");
      assert.equal(r.cdn?.ingestionInfo.backupIngestionAddress, "rtmp://127.0.0.1:1935/live2?backup=1");
      assert.equal(r.cdn?.ingestionInfo.rtmpsIngestionAddress, "rtmps://127.0.0.1:1936/live2");
      assert.equal(r.snippet?.channelId, "UCchannel");
      const key = r.cdn?.ingestionInfo.streamName;
      assert.equal(
        r.contentDetails?.closedCaptionsIngestionUrl,
        `http://127.0.0.1:8081/closedcaption?cid=${key}`,
      );
      const h = insertStream({ ...STREAM_BODY, cdn: { ...STREAM_BODY.cdn, ingestionType: "hls" } });
      const hk = h.cdn?.ingestionInfo.streamName;
      assert.equal(h.cdn?.ingestionInfo.ingestionAddress, `http://127.0.0.1:8080/hls?cid=${hk}&copy=0&file=`);
    });

    it("answers only the parts asked for", () => {
      const s = insertStream(STREAM_BODY, "snippet,cdn");
      assert.deepEqual(Object.keys(s).sort(), ["cdn", "etag", "id", "kind", "snippet"]);
      const listed = ok<ListBody<LiveStreamResource>>(call("GET", "/liveStreams", { part: "id", id: s.id }));
      assert.deepEqual(Object.keys(listed.items[0]).sort(), ["etag", "id", "kind"]);
    });

    it("refuses a resource without the required properties, with YouTube's reasons", () => {
      const P = "snippet,cdn,contentDetails";
      const D = "youtube.liveStream";
      err(
        call("POST", "/liveStreams", { part: P }, { ...STREAM_BODY, snippet: {} }),
        400,
        "titleRequired",
        D,
      );
      const long = { ...STREAM_BODY, snippet: { title: "x".repeat(129) } };
      err(call("POST", "/liveStreams", { part: P }, long), 400, "invalidTitle", D);
      err(call("POST", "/liveStreams", { part: P }, { snippet: STREAM_BODY.snippet }), 400, "cdnRequired", D);
      const cdn = (c: Record<string, string>) => ({ snippet: STREAM_BODY.snippet, cdn: c });
      const noType = cdn({ resolution: "variable", frameRate: "variable" });
      err(call("POST", "/liveStreams", { part: P }, noType), 400, "ingestionTypeRequired", D);
      const badType = cdn({ ingestionType: "ftp", resolution: "variable", frameRate: "variable" });
      err(call("POST", "/liveStreams", { part: P }, badType), 400, "invalidIngestionType", D);
      const noRate = cdn({ ingestionType: "rtmp", resolution: "variable" });
      err(call("POST", "/liveStreams", { part: P }, noRate), 400, "frameRateRequired", D);
      const noRes = cdn({ ingestionType: "rtmp", frameRate: "variable" });
      err(call("POST", "/liveStreams", { part: P }, noRes), 400, "resolutionRequired", D);
      err(call("POST", "/liveStreams", { part: "snippet" }, STREAM_BODY), 400, "cdnRequired", D);
      assert.equal(yt.streams().length, 0);
    });

    it("answers 403 liveStreamingNotEnabled while the channel cannot stream", () => {
      yt.liveStreamingEnabled = false;
      const e = err(
        call("POST", "/liveStreams", { part: "snippet,cdn" }, STREAM_BODY),
        403,
        "liveStreamingNotEnabled",
      );
      assert.equal(e.message, LIVE_STREAMING_NOT_ENABLED_MESSAGE);
      err(
        call("POST", "/liveBroadcasts", { part: "snippet,status" }, broadcastBody()),
        403,
        "liveStreamingNotEnabled",
      );
      yt.liveStreamingEnabled = true;
      insertStream();
    });
  });

  describe("stream status", () => {
    it("ready → active after activeAfterMs of media → inactive inactiveAfterMs after it stops", () => {
      const s = insertStream();
      const key = s.cdn?.ingestionInfo.streamName ?? "";
      assert.equal(streamStatus(s.id).streamStatus, "ready");
      assert.equal(yt.ingest(key, true), true);
      advance(2999);
      assert.equal(streamStatus(s.id).streamStatus, "ready");
      assert.equal(streamStatus(s.id).healthStatus.status, "noData");
      advance(1);
      const active = streamStatus(s.id);
      assert.equal(active.streamStatus, "active");
      assert.equal(active.healthStatus.status, "good");
      assert.equal(active.healthStatus.lastUpdateTimeSeconds, String(Math.floor(time / 1000)));
      advance(60_000);
      yt.ingest(key, false);
      advance(4999);
      assert.equal(streamStatus(s.id).streamStatus, "active");
      advance(1);
      assert.equal(streamStatus(s.id).streamStatus, "inactive");
      assert.equal(streamStatus(s.id).healthStatus.status, "noData");
      yt.ingest(key, true);
      advance(3000);
      assert.equal(streamStatus(s.id).streamStatus, "active", "a new publisher brings it back");
    });

    it("a quick reconnect keeps it active; too short a publish never makes it active", () => {
      const s = insertStream();
      const key = s.cdn?.ingestionInfo.streamName ?? "";
      yt.ingest(key, true);
      advance(1000);
      yt.ingest(key, false);
      advance(10_000);
      assert.equal(streamStatus(s.id).streamStatus, "ready");
      yt.ingest(key, true);
      advance(5000);
      yt.ingest(key, false);
      advance(1000);
      yt.ingest(key, true);
      for (let i = 0; i < 10; i++) {
        advance(1000);
        assert.equal(streamStatus(s.id).streamStatus, "active");
      }
    });

    it("ingest with an unknown key is refused; the configured timings apply", () => {
      assert.equal(yt.ingest("nope-nope-nope-nope-nope", true), false);
      yt = make({ activeAfterMs: 100, inactiveAfterMs: 200 });
      const s = insertStream();
      const key = s.cdn?.ingestionInfo.streamName ?? "";
      yt.ingest(key, true);
      advance(100);
      assert.equal(streamStatus(s.id).streamStatus, "active");
      yt.ingest(key, false);
      advance(200);
      assert.equal(streamStatus(s.id).streamStatus, "inactive");
    });

    it("reports the health set for an active stream", () => {
      const s = insertStream();
      const key = s.cdn?.ingestionInfo.streamName ?? "";
      const issue = {
        type: "audioCodec",
        severity: "warning" as const,
        reason: "noAudioStream",
        description: "No audio",
      };
      yt.setStreamHealth(s.id, { status: "ok", configurationIssues: [issue] });
      assert.deepEqual(streamStatus(s.id).healthStatus.configurationIssues, []);
      yt.ingest(key, true);
      advance(3000);
      assert.equal(streamStatus(s.id).healthStatus.status, "ok");
      assert.deepEqual(streamStatus(s.id).healthStatus.configurationIssues, [issue]);
    });
  });

  describe("list filters", () => {
    it("liveStreams.list takes exactly one of id and mine", () => {
      const e = err(
        call("GET", "/liveStreams", { part: "id" }),
        400,
        "missingRequiredParameter",
        "youtube.parameter",
      );
      assert.equal(e.message, "No filter selected. Expected one of: id, mine");
      const both = call("GET", "/liveStreams", { part: "id", id: "x", mine: "true" });
      const e2 = err(both, 400, "incompatibleParameters", "youtube.parameter");
      assert.equal(e2.message, "Incompatible parameters specified in the request: id, mine");
    });

    it("id takes a comma list and skips unknown ids; mine pages by maxResults (default 5)", () => {
      const ids = Array.from({ length: 7 }, () => insertStream().id);
      const byId = ok<ListBody<LiveStreamResource>>(
        call("GET", "/liveStreams", { part: "id", id: `${ids[1]},missing,${ids[3]}` }),
      );
      assert.equal(byId.kind, "youtube#liveStreamListResponse");
      assert.deepEqual(
        byId.items.map((s) => s.id),
        [ids[1], ids[3]],
      );
      assert.equal(byId.pageInfo.totalResults, 2);
      const first = ok<ListBody<LiveStreamResource>>(
        call("GET", "/liveStreams", { part: "id", mine: "true" }),
      );
      assert.equal(first.items.length, 5);
      assert.deepEqual(first.pageInfo, { totalResults: 7, resultsPerPage: 5 });
      assert.ok(first.nextPageToken);
      const second = ok<ListBody<LiveStreamResource>>(
        call("GET", "/liveStreams", { part: "id", mine: "true", pageToken: first.nextPageToken }),
      );
      assert.deepEqual(
        [...first.items, ...second.items].map((s) => s.id),
        ids,
      );
      assert.equal(second.nextPageToken, undefined);
      const all = ok<ListBody<LiveStreamResource>>(
        call("GET", "/liveStreams", { part: "id", mine: "true", maxResults: "50" }),
      );
      assert.equal(all.items.length, 7);
      err(call("GET", "/liveStreams", { part: "id", mine: "true", maxResults: "51" }), 400, "invalidValue");
    });

    it("liveBroadcasts.list takes exactly one of id, mine and broadcastStatus", () => {
      const e = err(call("GET", "/liveBroadcasts", { part: "id" }), 400, "missingRequiredParameter");
      assert.equal(e.message, "No filter selected. Expected one of: id, mine, broadcastStatus");
      const mixed = call("GET", "/liveBroadcasts", { part: "id", mine: "true", broadcastStatus: "active" });
      err(mixed, 400, "incompatibleParameters", "youtube.parameter");
      err(
        call("GET", "/liveBroadcasts", { part: "id", id: "a", mine: "true" }),
        400,
        "incompatibleParameters",
      );
      err(call("GET", "/liveBroadcasts", { part: "id", broadcastStatus: "soon" }), 400, "invalidValue");
    });

    it("broadcastStatus selects upcoming, active, completed or all", () => {
      const { b } = activeSetup();
      const upcoming = insertBroadcast();
      ok(transition(b.id, "live"));
      advance(1500);
      const done = insertBroadcast();
      yt.endBroadcast(done.id);
      const ids = (status: string) =>
        ok<ListBody<LiveBroadcastResource>>(
          call("GET", "/liveBroadcasts", { part: "id", broadcastStatus: status, maxResults: "50" }),
        )
          .items.map((x) => x.id)
          .sort();
      assert.deepEqual(ids("active"), [b.id]);
      assert.deepEqual(ids("upcoming"), [upcoming.id]);
      assert.deepEqual(ids("completed"), [done.id]);
      assert.deepEqual(ids("all"), [b.id, upcoming.id, done.id].sort());
    });
  });

  describe("liveBroadcasts.insert", () => {
    it("creates a broadcast in lifeCycleStatus created, unbound", () => {
      const b = insertBroadcast(
        broadcastBody({
          privacy: "public",
          details: {
            enableAutoStart: true,
            latencyPreference: "low",
            closedCaptionsType: "closedCaptionsHttpPost",
            monitorStream: { enableMonitorStream: true },
          },
        }),
      );
      assert.equal(b.kind, "youtube#liveBroadcast");
      assert.match(b.id, /^[A-Za-z0-9_-]{11}$/);
      assert.equal(b.snippet?.title, "Front door live");
      assert.equal(b.snippet?.scheduledStartTime, "2026-01-01T00:00:00.000Z");
      assert.equal(b.snippet?.channelId, yt.channelId);
      assert.equal(b.status?.lifeCycleStatus, "created");
      assert.equal(b.status?.privacyStatus, "public");
      assert.equal(b.status?.selfDeclaredMadeForKids, false);
      assert.equal(b.contentDetails?.boundStreamId, undefined);
      assert.equal(b.contentDetails?.enableAutoStart, true);
      assert.equal(b.contentDetails?.enableAutoStop, false);
      assert.equal(b.contentDetails?.latencyPreference, "low");
      assert.equal(b.contentDetails?.closedCaptionsType, "closedCaptionsHttpPost");
      assert.equal(b.contentDetails?.monitorStream.enableMonitorStream, true);
      assert.equal(yt.broadcasts()[0].id, b.id);
    });

    it("checks title, scheduledStartTime, privacyStatus and latency with YouTube's reasons", () => {
      const D = "youtube.liveBroadcast";
      const post = (body: unknown) =>
        call("POST", "/liveBroadcasts", { part: "snippet,status,contentDetails" }, body);
      const base = broadcastBody();
      err(
        post({ ...base, snippet: { scheduledStartTime: "2026-01-01T00:00:00Z" } }),
        400,
        "titleRequired",
        D,
      );
      err(post(broadcastBody({ title: "" })), 400, "invalidTitle", D);
      err(post(broadcastBody({ title: "é".repeat(101) })), 400, "invalidTitle", D);
      assert.equal(post(broadcastBody({ title: "é".repeat(100) })).status, 200, "100 characters are fine");
      err(post({ ...base, snippet: { title: "t" } }), 400, "scheduledStartTimeRequired", D);
      const badTime = { ...base, snippet: { title: "t", scheduledStartTime: "tomorrow-ish" } };
      err(post(badTime), 400, "invalidScheduledStartTime", D);
      err(post({ ...base, status: {} }), 400, "privacyStatusRequired", D);
      err(post(broadcastBody({ privacy: "friends" })), 400, "invalidPrivacyStatus", D);
      err(
        post(broadcastBody({ details: { latencyPreference: "instant" } })),
        400,
        "invalidLatencyPreferenceOptions",
        D,
      );
      const ultraCaptions = { latencyPreference: "ultraLow", closedCaptionsType: "closedCaptionsHttpPost" };
      err(post(broadcastBody({ details: ultraCaptions })), 400, "invalidLatencyPreferenceOptions", D);
      err(call("POST", "/liveBroadcasts", { part: "status,contentDetails" }, base), 400, "titleRequired", D);
    });
  });

  describe("liveBroadcasts.bind", () => {
    it("binds a stream: boundStreamId set, lifeCycleStatus ready; without streamId it unbinds", () => {
      const s = insertStream();
      const b = insertBroadcast();
      const bound = ok<LiveBroadcastResource>(bind(b.id, s.id));
      assert.equal(bound.contentDetails?.boundStreamId, s.id);
      assert.equal(bound.status?.lifeCycleStatus, "ready");
      const unbound = ok<LiveBroadcastResource>(
        call("POST", "/liveBroadcasts/bind", { id: b.id, part: "contentDetails,status" }),
      );
      assert.equal(unbound.contentDetails?.boundStreamId, undefined);
      assert.equal(unbound.status?.lifeCycleStatus, "created");
    });

    it("unknown ids answer 404; a finished broadcast cannot be bound", () => {
      const s = insertStream();
      const b = insertBroadcast();
      err(bind("nope", s.id), 404, "liveBroadcastNotFound", "youtube.liveBroadcast");
      err(bind(b.id, "nope"), 404, "liveStreamNotFound");
      err(call("POST", "/liveBroadcasts/bind", { streamId: s.id, part: "id" }), 400, "idRequired");
      yt.endBroadcast(b.id);
      err(bind(b.id, s.id), 403, "liveBroadcastBindingNotAllowed");
    });
  });

  describe("liveBroadcasts.transition", () => {
    it("goes live once the bound stream is active: liveStarting for liveStartingMs, then live", () => {
      const { b } = activeSetup();
      const r = ok<LiveBroadcastResource>(transition(b.id, "live"));
      assert.deepEqual(Object.keys(r).sort(), ["etag", "id", "kind", "status"]);
      assert.equal(r.status?.lifeCycleStatus, "liveStarting");
      advance(1499);
      assert.equal(lifeCycle(b.id), "liveStarting");
      advance(1);
      assert.equal(lifeCycle(b.id), "live");
      const view = yt.broadcasts()[0];
      assert.equal(view.snippet?.actualStartTime, new Date(time).toISOString());
      assert.equal(view.status?.recordingStatus, "recording");
      const done = ok<LiveBroadcastResource>(transition(b.id, "complete"));
      assert.equal(done.status?.lifeCycleStatus, "complete");
      assert.equal(yt.broadcasts()[0].snippet?.actualEndTime, new Date(time).toISOString());
    });

    it("errorStreamInactive while the bound stream is not active", () => {
      const s = insertStream();
      const b = insertBroadcast();
      ok(bind(b.id, s.id));
      const e = err(transition(b.id, "live"), 403, "errorStreamInactive", "youtube.liveBroadcast");
      assert.equal(e.message, STREAM_INACTIVE_MESSAGE);
      yt.ingest(s.cdn?.ingestionInfo.streamName ?? "", true);
      advance(2000);
      err(transition(b.id, "live"), 403, "errorStreamInactive");
      advance(1000);
      ok(transition(b.id, "live"));
    });

    it("redundantTransition for the status it has or is moving to", () => {
      const { b } = activeSetup();
      ok(transition(b.id, "live"));
      const e = err(transition(b.id, "live"), 403, "redundantTransition", "youtube.liveBroadcast");
      assert.equal(e.message, REDUNDANT_TRANSITION_MESSAGE);
      advance(1500);
      err(transition(b.id, "live"), 403, "redundantTransition");
      ok(transition(b.id, "complete"));
      err(transition(b.id, "complete"), 403, "redundantTransition");
    });

    it("invalidTransition from a state that does not allow it", () => {
      const s = insertStream();
      const unbound = insertBroadcast();
      const e = err(transition(unbound.id, "live"), 403, "invalidTransition", "youtube.liveBroadcast");
      assert.equal(e.message, INVALID_TRANSITION_MESSAGE);
      err(transition(unbound.id, "complete"), 403, "invalidTransition");
      ok(bind(unbound.id, s.id));
      err(transition(unbound.id, "complete"), 403, "invalidTransition"); // ready → complete
      yt.endBroadcast(unbound.id);
      yt.ingest(s.cdn?.ingestionInfo.streamName ?? "", true);
      advance(3000);
      err(transition(unbound.id, "live"), 403, "invalidTransition"); // complete → live
      err(transition(unbound.id, "testing"), 403, "invalidTransition"); // complete → testing
    });

    it("testing needs the monitor stream; testStarting, testing, then live", () => {
      const off = activeSetup();
      err(transition(off.b.id, "testing"), 403, "invalidTransition");
      const on = insertBroadcast(
        broadcastBody({ details: { monitorStream: { enableMonitorStream: true } } }),
      );
      const s2 = insertStream();
      ok(bind(on.id, s2.id));
      err(transition(on.id, "testing"), 403, "errorStreamInactive");
      yt.ingest(s2.cdn?.ingestionInfo.streamName ?? "", true);
      advance(3000);
      assert.equal(
        ok<LiveBroadcastResource>(transition(on.id, "testing")).status?.lifeCycleStatus,
        "testStarting",
      );
      err(transition(on.id, "testing"), 403, "redundantTransition");
      advance(1500);
      assert.equal(lifeCycle(on.id), "testing");
      err(transition(on.id, "testing"), 403, "redundantTransition");
      ok(transition(on.id, "live"));
      advance(1500);
      assert.equal(lifeCycle(on.id), "live");
      err(transition(on.id, "testing"), 403, "invalidTransition"); // live → testing
    });

    it("a second broadcast on the same stream cannot go live while the first is live", () => {
      const { stream, b } = activeSetup();
      ok(transition(b.id, "live"));
      const second = insertBroadcast();
      ok(bind(second.id, stream.id));
      err(transition(second.id, "live"), 403, "invalidTransition");
      advance(1500);
      err(transition(second.id, "live"), 403, "invalidTransition");
      ok(transition(b.id, "complete"));
      ok(transition(second.id, "live"));
    });

    it("endBroadcast: YouTube ends a live broadcast by itself", () => {
      const { b } = activeSetup();
      ok(transition(b.id, "live"));
      advance(1500);
      yt.endBroadcast(b.id);
      assert.equal(lifeCycle(b.id), "complete");
      assert.equal(yt.broadcasts()[0].status?.recordingStatus, "recorded");
      assert.throws(() => yt.endBroadcast("nope"));
    });

    it("enableAutoStart goes live when the stream turns active; enableAutoStop completes when it stops", () => {
      const { key, b } = activeSetup({ enableAutoStart: true, enableAutoStop: true });
      assert.equal(lifeCycle(b.id), "liveStarting");
      advance(1500);
      assert.equal(lifeCycle(b.id), "live");
      yt.ingest(key, false);
      advance(4999);
      assert.equal(lifeCycle(b.id), "live");
      advance(1);
      assert.equal(lifeCycle(b.id), "complete");
    });

    it("asks for broadcastStatus, a known value and an id", () => {
      const { b } = activeSetup();
      err(call("POST", "/liveBroadcasts/transition", { id: b.id, part: "status" }), 400, "required");
      err(transition(b.id, "paused"), 400, "invalidValue");
      err(
        call("POST", "/liveBroadcasts/transition", { broadcastStatus: "live", part: "status" }),
        400,
        "idRequired",
      );
      err(transition("nope", "live"), 404, "liveBroadcastNotFound");
    });
  });

  describe("delete", () => {
    it("liveBroadcasts.delete answers 204; unknown 404; a live broadcast cannot be deleted", () => {
      const { b } = activeSetup();
      const spare = insertBroadcast();
      const r = call("DELETE", "/liveBroadcasts", { id: spare.id });
      assert.equal(r.status, 204);
      assert.equal(r.body, "");
      err(call("DELETE", "/liveBroadcasts", { id: spare.id }), 404, "liveBroadcastNotFound");
      ok(transition(b.id, "live"));
      err(call("DELETE", "/liveBroadcasts", { id: b.id }), 403, "liveBroadcastDeletionNotAllowed");
      ok(transition(b.id, "complete"));
      assert.equal(call("DELETE", "/liveBroadcasts", { id: b.id }).status, 204);
      assert.equal(yt.broadcasts().length, 0);
    });

    it("liveStreams.delete answers 204, but not while it feeds a broadcast in progress", () => {
      const { stream, b } = activeSetup();
      ok(transition(b.id, "live"));
      err(call("DELETE", "/liveStreams", { id: stream.id }), 403, "liveStreamDeletionNotAllowed");
      ok(transition(b.id, "complete"));
      assert.equal(call("DELETE", "/liveStreams", { id: stream.id }).status, 204);
      err(call("DELETE", "/liveStreams", { id: stream.id }), 404, "liveStreamNotFound");
      assert.equal(yt.streams().length, 0);
    });
  });

  describe("YouTube Studio", () => {
    it("studioDeleteBroadcast removes even a live broadcast: a list by id is empty, the rest 404", () => {
      const { b } = activeSetup();
      ok(transition(b.id, "live"));
      yt.studioDeleteBroadcast(b.id);
      const list = ok<ListBody<LiveBroadcastResource>>(
        call("GET", "/liveBroadcasts", { part: "status", id: b.id }),
      );
      assert.deepEqual(list.items, []);
      err(transition(b.id, "complete"), 404, "liveBroadcastNotFound");
      err(call("DELETE", "/liveBroadcasts", { id: b.id }), 404, "liveBroadcastNotFound");
      assert.throws(() => yt.studioDeleteBroadcast(b.id), /no broadcast/);
    });

    it("studioDeleteStream removes even a stream in use: its broadcasts are unbound, its key no longer ingests", () => {
      const { stream, key, b } = activeSetup();
      ok(transition(b.id, "live"));
      yt.studioDeleteStream(stream.id);
      const list = ok<ListBody<LiveStreamResource>>(
        call("GET", "/liveStreams", { part: "status", id: stream.id }),
      );
      assert.deepEqual(list.items, []);
      assert.equal(yt.broadcasts()[0].contentDetails?.boundStreamId, undefined);
      assert.equal(yt.ingest(key, true), false);
      err(bind(insertBroadcast().id, stream.id), 404, "liveStreamNotFound");
    });
  });

  describe("quota", () => {
    it("charges each method its units, errors included, and records every call", () => {
      assert.equal(YOUTUBE_QUOTA_COSTS["liveStreams.list"], 1);
      assert.equal(YOUTUBE_QUOTA_COSTS["liveBroadcasts.transition"], 50);
      const { b } = activeSetup(); // insert 50 + insert 50 + bind 50
      assert.equal(yt.unitsUsed(), 150);
      call("GET", "/liveStreams", { part: "status", mine: "true" });
      assert.equal(yt.unitsUsed(), 151);
      err(transition(b.id, "complete"), 403, "invalidTransition");
      assert.equal(yt.unitsUsed(), 201, "an error answer costs the method's units");
      err(call("GET", "/liveBroadcasts", { part: "id" }), 400, "missingRequiredParameter");
      assert.equal(yt.unitsUsed(), 202);
      assert.deepEqual(
        yt.calls.map((c) => [c.method, c.name, c.status, c.units]),
        [
          ["POST", "liveStreams.insert", 200, 50],
          ["POST", "liveBroadcasts.insert", 200, 50],
          ["POST", "liveBroadcasts.bind", 200, 50],
          ["GET", "liveStreams.list", 200, 1],
          ["POST", "liveBroadcasts.transition", 403, 50],
          ["GET", "liveBroadcasts.list", 400, 1],
        ],
      );
      assert.equal(yt.calls[0].at, Date.UTC(2026, 0, 15, 18, 0, 0));
    });

    it("refuses with 403 quotaExceeded, charging nothing, once a call would pass dailyQuota", () => {
      yt = make({ dailyQuota: 120 });
      insertStream();
      insertStream();
      assert.equal(yt.unitsUsed(), 100);
      const e = err(
        call("POST", "/liveStreams", { part: "snippet,cdn" }, STREAM_BODY),
        403,
        "quotaExceeded",
        "youtube.quota",
      );
      assert.equal(e.message, QUOTA_EXCEEDED_MESSAGE);
      assert.equal(yt.unitsUsed(), 100);
      assert.equal(yt.calls[2].units, 0);
      for (let i = 0; i < 20; i++) ok(call("GET", "/liveStreams", { part: "id", mine: "true" }));
      assert.equal(yt.unitsUsed(), 120);
      err(call("GET", "/liveStreams", { part: "id", mine: "true" }), 403, "quotaExceeded");
      assert.equal(yt.unitsUsed(), 120);
    });

    it("resets at midnight Pacific time (PST: 08:00 UTC)", () => {
      yt = make({ dailyQuota: 100 });
      time = Date.UTC(2026, 0, 15, 7, 59, 59); // 23:59:59 PST on the 14th
      insertStream();
      insertStream();
      err(call("GET", "/liveStreams", { part: "id", mine: "true" }), 403, "quotaExceeded");
      advance(1000);
      assert.equal(yt.unitsUsed(), 0);
      ok(call("GET", "/liveStreams", { part: "id", mine: "true" }));
      assert.equal(yt.unitsUsed(), 1);
      assert.equal(pacificDay(time), "2026-01-15");
    });

    it("resets at midnight Pacific time across the DST change (PDT: 07:00 UTC)", () => {
      yt = make({ dailyQuota: 50 });
      // 2026-03-08 is the day clocks go forward: that day starts at 08:00 UTC (PST), the next at 07:00 UTC (PDT).
      time = Date.UTC(2026, 2, 9, 6, 59, 59);
      assert.equal(pacificDay(time), "2026-03-08");
      insertStream();
      err(call("GET", "/liveStreams", { part: "id", mine: "true" }), 403, "quotaExceeded");
      advance(1000);
      assert.equal(pacificDay(time), "2026-03-09");
      assert.equal(yt.unitsUsed(), 0);
      ok(call("GET", "/liveStreams", { part: "id", mine: "true" }));
      advance(60 * 60 * 1000); // 08:00 UTC: a fixed UTC-8 would reset here; the Pacific day does not
      assert.equal(yt.unitsUsed(), 1);
    });

    it("nextPacificMidnight follows the Pacific offset", () => {
      assert.equal(nextPacificMidnight(Date.UTC(2026, 0, 15, 18)), Date.UTC(2026, 0, 16, 8));
      assert.equal(nextPacificMidnight(Date.UTC(2026, 2, 8, 12)), Date.UTC(2026, 2, 9, 7));
      assert.equal(nextPacificMidnight(Date.UTC(2026, 6, 4, 6, 59)), Date.UTC(2026, 6, 4, 7));
      assert.equal(nextPacificMidnight(Date.UTC(2026, 9, 31, 12)), Date.UTC(2026, 10, 1, 7));
      assert.equal(nextPacificMidnight(Date.UTC(2026, 10, 1, 12)), Date.UTC(2026, 10, 2, 8));
    });
  });

  describe("faults", () => {
    it("the next calls of a method answer the injected error, then it behaves again", () => {
      const { b } = activeSetup();
      yt.fail("liveBroadcasts.transition", 503, "backendError", 2);
      const e = err(transition(b.id, "live"), 503, "backendError", "global");
      assert.equal(e.message, "Backend Error");
      err(transition(b.id, "live"), 503, "backendError");
      assert.equal(lifeCycle(b.id), "ready");
      ok(transition(b.id, "live"));
      assert.deepEqual(
        yt.calls.filter((c) => c.name === "liveBroadcasts.transition").map((c) => [c.status, c.units]),
        [
          [503, 50],
          [503, 50],
          [200, 50],
        ],
      );
    });

    it("faults hit only their method; an injected quotaExceeded costs nothing", () => {
      const s = insertStream();
      yt.fail("liveStreams.list", 403, "quotaExceeded");
      yt.fail("liveStreams.insert", 403, "rateLimitExceeded");
      const before = yt.unitsUsed();
      err(call("GET", "/liveStreams", { part: "id", id: s.id }), 403, "quotaExceeded", "youtube.quota");
      assert.equal(yt.unitsUsed(), before);
      ok(call("GET", "/liveStreams", { part: "id", id: s.id }));
      err(call("POST", "/liveStreams", { part: "snippet,cdn" }, STREAM_BODY), 403, "rateLimitExceeded");
      insertStream();
      yt.fail("liveBroadcasts.insert", 500, "");
      err(call("POST", "/liveBroadcasts", { part: "snippet,status" }, broadcastBody()), 500, "backendError");
    });
  });
});
