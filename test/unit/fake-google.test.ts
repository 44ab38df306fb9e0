import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { endpointsFromEnv } from "../../src/endpoints";
import type { SdmDevice } from "../../src/nest/sdm-types";
import { describeDevice } from "../../src/nest/sdm-types";
import {
  CAMERA_UNAVAILABLE_MESSAGE,
  DEVICE_RATE_LIMIT_MESSAGE,
  EXECUTE_RATE_LIMIT_MESSAGE,
  FAKE_CREDENTIALS,
  FAKE_DEFAULTS,
  FakeGoogle,
  maxInWindow,
  REGISTERED_REDIRECT_URIS,
  SlidingWindows,
  UNAUTHENTICATED_MESSAGE,
  type FakeGoogleOptions,
} from "../fixtures/fake-google";
import { DEVICE_ID, FakeSdmRunner } from "../fixtures/fake-google/sdm-runner";
import { camera, FAKE, FakeGoogleTransport, SDM_URL, TOKEN_URL } from "../fixtures/fake-google/transport";
import { FakeClock } from "../support/fake-clock";
import { RTCPeerConnection } from "werift";
import { createFakeWebRtcCamera } from "../fixtures/fake-webrtc-camera";

const P = "sdm.devices.commands.CameraLiveStream.";

type Json = Record<string, unknown>;
interface GoogleErr {
  error: { code: number; message: string; status: string };
}
interface RtspResults {
  streamUrls?: { rtspUrl: string };
  streamExtensionToken: string;
  streamToken: string;
  expiresAt: string;
}

async function json<T = Json>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

function refresh(fake: FakeGoogle, fields: Record<string, string> = {}) {
  return postForm(`${fake.url}/token`, {
    grant_type: "refresh_token",
    client_id: fake.clientId,
    client_secret: fake.clientSecret,
    refresh_token: fake.refreshToken,
    ...fields,
  });
}

function sdmGet(fake: FakeGoogle, token: string | undefined, rest: string, project = fake.projectId) {
  return fetch(`${fake.url}/v1/enterprises/${project}/${rest}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

function exec(fake: FakeGoogle, token: string, deviceId: string, command: string, params: Json = {}) {
  return fetch(`${fake.url}/v1/enterprises/${fake.projectId}/devices/${deviceId}:executeCommand`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ command: P + command, params }),
  });
}

async function expectApiError(res: Response, code: number, status: string, message?: string | RegExp) {
  assert.equal(res.status, code);
  const body = await json<GoogleErr>(res);
  assert.equal(body.error.code, code);
  assert.equal(body.error.status, status);
  if (typeof message === "string") assert.equal(body.error.message, message);
  else if (message) assert.match(body.error.message, message);
  return body;
}

describe("fake Google", () => {
  let clock: FakeClock;
  let fake: FakeGoogle;
  const started: FakeGoogle[] = [];

  async function start(opts: FakeGoogleOptions = {}): Promise<FakeGoogle> {
    const f = await FakeGoogle.start({ clock, ...opts });
    started.push(f);
    return f;
  }

  beforeEach(async () => {
    clock = new FakeClock();
    fake = await start();
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((f) => f.stop()));
  });

  describe("OAuth token endpoint", () => {
    it("refreshes: a random Bearer token per issue, with expires_in and scope", async () => {
      const res = await refresh(fake);
      assert.equal(res.status, 200);
      const a = await json(res);
      assert.match(String(a.access_token), /^ya29\.fake-[A-Za-z0-9_-]{20,}$/);
      assert.equal(a.expires_in, 3599);
      assert.equal(a.token_type, "Bearer");
      assert.equal(a.scope, "https://www.googleapis.com/auth/sdm.service");
      assert.equal(a.refresh_token, undefined, "no rotation unless configured");
      const b = await json(await refresh(fake));
      assert.notEqual(a.access_token, b.access_token);
      assert.equal(fake.calls[0].endpoint, "token");
      assert.equal(fake.calls[0].grantType, "refresh_token");
    });

    it("answers errors exactly like Google", async () => {
      let res = await refresh(fake, { client_id: "nobody.apps.googleusercontent.com" });
      assert.equal(res.status, 401);
      assert.deepEqual(await json(res), {
        error: "invalid_client",
        error_description: "The OAuth client was not found.",
      });
      res = await refresh(fake, { client_secret: "wrong" });
      assert.equal(res.status, 401);
      assert.equal((await json(res)).error, "invalid_client");
      res = await refresh(fake, { refresh_token: "1//fake-unknown" });
      assert.equal(res.status, 400);
      assert.deepEqual(await json(res), {
        error: "invalid_grant",
        error_description: "Token has been expired or revoked.",
      });
      res = await refresh(fake, { grant_type: "password" });
      assert.equal(res.status, 400);
      assert.equal((await json(res)).error, "unsupported_grant_type");
    });

    it("takes client credentials in HTTP Basic auth too", async () => {
      const basic = Buffer.from(`${fake.clientId}:${fake.clientSecret}`).toString("base64");
      const res = await postForm(
        `${fake.url}/token`,
        { grant_type: "refresh_token", refresh_token: fake.refreshToken },
        { authorization: `Basic ${basic}` },
      );
      assert.equal(res.status, 200);
    });

    it("access tokens expire on the fake clock (lifetime in seconds)", async () => {
      const f = await start({ accessTokenLifetimeS: 60 });
      const { access_token, expires_in } = await json(await refresh(f));
      assert.equal(expires_in, 60);
      assert.equal((await sdmGet(f, String(access_token), "devices")).status, 200);
      await clock.advance(59_999);
      assert.equal((await sdmGet(f, String(access_token), "devices")).status, 200);
      await clock.advance(1);
      const res = await sdmGet(f, String(access_token), "devices");
      await expectApiError(res, 401, "UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE);
    });

    it("rotates refresh tokens when configured, revoking the old one (or not)", async () => {
      const f = await start({ rotateRefreshToken: true });
      const first = f.refreshToken;
      const a = await json(await refresh(f));
      assert.match(String(a.refresh_token), /^1\/\/fake-/);
      assert.equal(f.refreshToken, a.refresh_token);
      const stale = await refresh(f, { refresh_token: first });
      assert.equal(stale.status, 400);
      assert.equal((await json(stale)).error, "invalid_grant");
      assert.equal((await refresh(f, { refresh_token: String(a.refresh_token) })).status, 200);

      const g = await start({ rotateRefreshToken: "keep-old" });
      const old = g.refreshToken;
      const b = await json(await refresh(g));
      assert.notEqual(b.refresh_token, old);
      assert.equal((await refresh(g, { refresh_token: old })).status, 200);
    });

    it("refresh tokens of a 'Testing' consent screen die after their lifetime", async () => {
      const f = await start({ refreshTokenLifetimeS: 7 * 24 * 3600 });
      assert.equal((await refresh(f)).status, 200);
      await clock.advance(7 * 24 * 3600 * 1000);
      assert.equal((await json(await refresh(f))).error, "invalid_grant");
    });

    it("a revoked refresh token and its access tokens stop working", async () => {
      const { access_token } = await json(await refresh(fake));
      fake.revokeRefreshToken();
      assert.equal((await json(await refresh(fake))).error, "invalid_grant");
      assert.equal((await sdmGet(fake, String(access_token), "devices")).status, 401);
    });
  });

  describe("authorization page and code exchange", () => {
    const redirectUri = "http://127.0.0.1:1880/nest-restream/auth/callback";
    function authUrl(f: FakeGoogle, extra: Record<string, string> = {}) {
      const q = new URLSearchParams({
        redirect_uri: redirectUri,
        access_type: "offline",
        prompt: "consent",
        client_id: f.clientId,
        response_type: "code",
        scope: "https://www.googleapis.com/auth/sdm.service",
        state: "st-42",
        ...extra,
      });
      return `${f.url}/partnerconnections/${f.projectId}/auth?${q}`;
    }

    it("?auto=1 redirects with a single-use code that exchanges for both tokens", async () => {
      const res = await fetch(authUrl(fake, { auto: "1" }), { redirect: "manual" });
      assert.equal(res.status, 302);
      const loc = new URL(res.headers.get("location") ?? "");
      assert.equal(loc.origin + loc.pathname, redirectUri);
      assert.equal(loc.searchParams.get("state"), "st-42");
      const code = loc.searchParams.get("code") ?? "";
      assert.ok(code);
      const exchange = () =>
        postForm(`${fake.url}/token`, {
          grant_type: "authorization_code",
          code,
          redirect_uri: redirectUri,
          client_id: fake.clientId,
          client_secret: fake.clientSecret,
        });
      const r1 = await exchange();
      assert.equal(r1.status, 200);
      const t = await json(r1);
      assert.match(String(t.access_token), /^ya29\.fake-/);
      assert.match(String(t.refresh_token), /^1\/\/fake-/);
      assert.equal(fake.refreshToken, t.refresh_token);
      assert.equal((await refresh(fake, { refresh_token: String(t.refresh_token) })).status, 200);
      const r2 = await exchange();
      assert.equal(r2.status, 400);
      assert.equal((await json(r2)).error, "invalid_grant");
    });

    it("the code is bound to its redirect_uri", async () => {
      const res = await fetch(authUrl(fake, { auto: "1" }), { redirect: "manual" });
      const code = new URL(res.headers.get("location") ?? "").searchParams.get("code") ?? "";
      const r = await postForm(`${fake.url}/token`, {
        grant_type: "authorization_code",
        code,
        redirect_uri: "https://www.google.com",
        client_id: fake.clientId,
        client_secret: fake.clientSecret,
      });
      assert.equal(r.status, 400);
      assert.equal((await json(r)).error, "redirect_uri_mismatch");
    });

    it("without auto it shows a page whose #allow link is that redirect, and #deny denies", async () => {
      const res = await fetch(authUrl(fake));
      assert.equal(res.status, 200);
      const html = await res.text();
      const allow = /id="allow" href="([^"]+)"/.exec(html)?.[1].replace(/&amp;/g, "&") ?? "";
      const loc = new URL(allow);
      assert.equal(loc.origin + loc.pathname, redirectUri);
      assert.ok(loc.searchParams.get("code"));
      assert.equal(loc.searchParams.get("state"), "st-42");
      const deny = /id="deny" href="([^"]+)"/.exec(html)?.[1].replace(/&amp;/g, "&") ?? "";
      assert.equal(new URL(deny).searchParams.get("error"), "access_denied");
    });

    it("autoApprove and denyAuthorization options; unknown client is an error page", async () => {
      const f = await start({ autoApprove: true });
      assert.equal((await fetch(authUrl(f), { redirect: "manual" })).status, 302);
      f.denyAuthorization = true;
      const denied = await fetch(authUrl(f), { redirect: "manual" });
      const loc = new URL(denied.headers.get("location") ?? "");
      assert.equal(loc.searchParams.get("error"), "access_denied");
      assert.equal(loc.searchParams.get("state"), "st-42");
      assert.equal(loc.searchParams.get("code"), null);

      const bad = await fetch(authUrl(fake, { client_id: "nobody", auto: "1" }), { redirect: "manual" });
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /Error 401: invalid_client/);
    });

    it("enforces allowed redirect URIs when given", async () => {
      const f = await start({ allowedRedirectUris: ["https://www.google.com"] });
      const res = await fetch(authUrl(f, { auto: "1" }), { redirect: "manual" });
      assert.equal(res.status, 400);
      assert.match(await res.text(), /redirect_uri_mismatch/);
    });

    it("accepts only the redirect URIs registered for the client: Google's error page for any other", async () => {
      // By default: www.google.com and the editor's callbacks of a Node-RED on port 1880.
      assert.deepEqual(fake.allowedRedirectUris, [...REGISTERED_REDIRECT_URIS]);
      for (const uri of REGISTERED_REDIRECT_URIS) {
        const ok = await fetch(authUrl(fake, { auto: "1", redirect_uri: uri }), { redirect: "manual" });
        assert.equal(ok.status, 302, uri);
        assert.equal(new URL(ok.headers.get("location") ?? "").origin, new URL(uri).origin);
      }
      // Google compares the whole URI: another path, port, host or a trailing slash is not registered.
      for (const uri of [
        "http://127.0.0.1:1880/nest-account/auth/callback",
        "http://127.0.0.1:1881/nest-restream/auth/callback",
        "https://www.google.com/",
        "https://evil.example/nest-restream/auth/callback",
      ]) {
        const res = await fetch(authUrl(fake, { auto: "1", redirect_uri: uri }), { redirect: "manual" });
        assert.equal(res.status, 400, uri);
        assert.equal(res.headers.get("location"), null, "nothing goes back to an unregistered URI");
        assert.match(await res.text(), /Error 400: redirect_uri_mismatch/);
      }
      // Registering one (as a test with an editor elsewhere does) lets it through; undefined restores the defaults.
      fake.allowedRedirectUris = ["http://127.0.0.1:1881/nest-restream/auth/callback"];
      try {
        const res = await fetch(
          authUrl(fake, { auto: "1", redirect_uri: "http://127.0.0.1:1881/nest-restream/auth/callback" }),
          { redirect: "manual" },
        );
        assert.equal(res.status, 302);
      } finally {
        fake.allowedRedirectUris = undefined;
      }
      assert.deepEqual(fake.allowedRedirectUris, [...REGISTERED_REDIRECT_URIS]);
    });
  });

  describe("SDM devices", () => {
    it("lists the default devices in Google's shape", async () => {
      const token = fake.issueAccessToken();
      const res = await sdmGet(fake, token, "devices");
      assert.equal(res.status, 200);
      const { devices } = await json<{ devices: SdmDevice[] }>(res);
      const info = devices.map(describeDevice);
      assert.deepEqual(
        info.map((d) => [d.id, d.displayName, d.isCamera, d.protocols]),
        [
          ["cam-front", "Front Door", true, ["RTSP"]],
          ["cam-garden", "Garden", true, ["RTSP"]],
          ["cam-webrtc", "Driveway", true, ["WEB_RTC"]],
          ["thermostat-hall", "Hallway", false, []],
        ],
      );
      assert.equal(devices[0].name, `enterprises/${fake.projectId}/devices/cam-front`);
      assert.equal(devices[0].type, "sdm.devices.types.CAMERA");
      assert.deepEqual(info[0].audioCodecs, ["AAC"]);
      assert.deepEqual(info[2].audioCodecs, ["OPUS"]);
      assert.equal(devices[3].type, "sdm.devices.types.THERMOSTAT");
    });

    it("gets one device; 404 for unknown, 403 for another project, 401 without a token", async () => {
      const token = fake.issueAccessToken();
      const one = await json<SdmDevice>(await sdmGet(fake, token, "devices/cam-garden"));
      assert.equal(one.name, fake.deviceName("cam-garden"));
      await expectApiError(await sdmGet(fake, token, "devices/nope"), 404, "NOT_FOUND");
      await expectApiError(await sdmGet(fake, token, "devices", "other-project"), 403, "PERMISSION_DENIED");
      await expectApiError(
        await sdmGet(fake, undefined, "devices"),
        401,
        "UNAUTHENTICATED",
        UNAUTHENTICATED_MESSAGE,
      );
      await expectApiError(await sdmGet(fake, "ya29.made-up", "devices"), 401, "UNAUTHENTICATED");
      const yt = fake.issueAccessToken({ scope: "https://www.googleapis.com/auth/youtube" });
      await expectApiError(await sdmGet(fake, yt, "devices"), 403, "PERMISSION_DENIED", /scopes/);
    });

    it("addDevice: a battery doorbell is a WebRTC-only DOORBELL", async () => {
      const f = await start({ devices: [] });
      f.addDevice({ id: "bell", customName: "Door", batteryDoorbell: true });
      const d = await json<SdmDevice>(await sdmGet(f, f.issueAccessToken(), "devices/bell"));
      assert.equal(d.type, "sdm.devices.types.DOORBELL");
      assert.deepEqual(describeDevice(d).protocols, ["WEB_RTC"]);
      assert.ok("sdm.devices.traits.DoorbellChime" in d.traits);
    });
  });

  describe("RTSP stream lifecycle", () => {
    let token: string;
    beforeEach(() => {
      token = fake.issueAccessToken();
      fake.setRtspEdgeBase("rtsps://127.0.0.1:12345");
      fake.setMediaUrl("cam-front", "rtsp://127.0.0.1:8554/front");
    });

    it("generates a URL on the edge base and authorizes only the newest streamToken", async () => {
      const res = await exec(fake, token, "cam-front", "GenerateRtspStream");
      assert.equal(res.status, 200);
      const { results } = await json<{ results: RtspResults }>(res);
      const url = new URL(results.streamUrls?.rtspUrl ?? "");
      assert.equal(url.protocol, "rtsps:");
      assert.equal(url.host, "127.0.0.1:12345");
      const streamId = url.pathname.replace("/sdm_live_stream/", "");
      assert.equal(url.searchParams.get("auth"), results.streamToken);
      assert.equal(Date.parse(results.expiresAt), clock.now() + 300_000);
      assert.ok(fake.isAlive(streamId));
      assert.deepEqual(fake.authorize(streamId, results.streamToken), {
        upstreamUrl: "rtsp://127.0.0.1:8554/front",
      });
      assert.equal(fake.authorize(streamId, "g.0.wrong"), null);
      assert.equal(fake.authorize("nope", results.streamToken), null);
    });

    it("extend rotates both tokens and moves expiresAt; old tokens are refused", async () => {
      const gen = (
        await json<{ results: RtspResults }>(await exec(fake, token, "cam-front", "GenerateRtspStream"))
      ).results;
      const streamId = new URL(gen.streamUrls?.rtspUrl ?? "").pathname.split("/").pop() ?? "";
      await clock.advance(240_000);
      const ext = await exec(fake, token, "cam-front", "ExtendRtspStream", {
        streamExtensionToken: gen.streamExtensionToken,
      });
      assert.equal(ext.status, 200);
      const e1 = (await json<{ results: RtspResults }>(ext)).results;
      assert.equal(e1.streamUrls, undefined, "extend returns no URL");
      assert.notEqual(e1.streamToken, gen.streamToken);
      assert.notEqual(e1.streamExtensionToken, gen.streamExtensionToken);
      assert.equal(Date.parse(e1.expiresAt), clock.now() + 300_000);
      assert.equal(fake.authorize(streamId, gen.streamToken), null, "old stream token");
      assert.ok(fake.authorize(streamId, e1.streamToken));

      const stale = await exec(fake, token, "cam-front", "ExtendRtspStream", {
        streamExtensionToken: gen.streamExtensionToken,
      });
      await expectApiError(stale, 400, "INVALID_ARGUMENT");
      const staleStop = await exec(fake, token, "cam-front", "StopRtspStream", {
        streamExtensionToken: gen.streamExtensionToken,
      });
      await expectApiError(staleStop, 400, "INVALID_ARGUMENT");
      assert.ok(fake.isAlive(streamId));

      // Past the first expiry the stream lives on because it was extended.
      await clock.advance(200_000);
      assert.ok(fake.isAlive(streamId));
      const stop = await exec(fake, token, "cam-front", "StopRtspStream", {
        streamExtensionToken: e1.streamExtensionToken,
      });
      assert.equal(stop.status, 200);
      assert.deepEqual(await json(stop), { results: {} });
      assert.equal(fake.isAlive(streamId), false);
      assert.equal(fake.authorize(streamId, e1.streamToken), null);
      assert.equal(fake.rtspStream(streamId)?.ended, "stopped");
    });

    it("an expired stream cannot be extended and is no longer alive", async () => {
      const f = await start({ streamLifetimeS: 5 });
      const t = f.issueAccessToken();
      const gen = (await json<{ results: RtspResults }>(await exec(f, t, "cam-front", "GenerateRtspStream")))
        .results;
      const streamId = new URL(gen.streamUrls?.rtspUrl ?? "").pathname.split("/").pop() ?? "";
      assert.equal(Date.parse(gen.expiresAt), clock.now() + 5000);
      await clock.advance(5000);
      assert.equal(f.isAlive(streamId), false);
      assert.equal(f.rtspStream(streamId)?.ended, "expired");
      const res = await exec(f, t, "cam-front", "ExtendRtspStream", {
        streamExtensionToken: gen.streamExtensionToken,
      });
      await expectApiError(res, 400, "INVALID_ARGUMENT", /expired/);
    });

    it("refuses RTSP on a WebRTC-only camera and on a thermostat; an offline camera is FAILED_PRECONDITION", async () => {
      await expectApiError(
        await exec(fake, token, "cam-webrtc", "GenerateRtspStream"),
        400,
        "INVALID_ARGUMENT",
      );
      await expectApiError(
        await exec(fake, token, "thermostat-hall", "GenerateRtspStream"),
        400,
        "INVALID_ARGUMENT",
      );
      await expectApiError(
        await exec(fake, token, "cam-front", "GenerateWebRtcStream", { offerSdp: "v=0" }),
        400,
        "INVALID_ARGUMENT",
      );
      await expectApiError(await exec(fake, token, "nope", "GenerateRtspStream"), 404, "NOT_FOUND");

      const gen = (
        await json<{ results: RtspResults }>(await exec(fake, token, "cam-garden", "GenerateRtspStream"))
      ).results;
      const streamId = new URL(gen.streamUrls?.rtspUrl ?? "").pathname.split("/").pop() ?? "";
      fake.setOffline("cam-garden");
      assert.equal(fake.isAlive(streamId), false, "going offline ends its streams");
      await expectApiError(
        await exec(fake, token, "cam-garden", "GenerateRtspStream"),
        400,
        "FAILED_PRECONDITION",
        CAMERA_UNAVAILABLE_MESSAGE,
      );
      fake.setOffline("cam-garden", false);
      assert.equal((await exec(fake, token, "cam-garden", "GenerateRtspStream")).status, 200);
    });

    it("authorize is null without a media URL, and for a device with the fake-wide default", async () => {
      const gen = (
        await json<{ results: RtspResults }>(await exec(fake, token, "cam-garden", "GenerateRtspStream"))
      ).results;
      const streamId = new URL(gen.streamUrls?.rtspUrl ?? "").pathname.split("/").pop() ?? "";
      assert.equal(fake.authorize(streamId, gen.streamToken), null);
      fake.mediaUrl = "rtsp://127.0.0.1:8554/default";
      assert.deepEqual(fake.authorize(streamId, gen.streamToken), {
        upstreamUrl: "rtsp://127.0.0.1:8554/default",
      });
      assert.deepEqual(
        fake.rtspAuthorizations.map((a) => a.ok),
        [false, true],
      );
    });
  });

  describe("WebRTC", () => {
    it("is refused by default, and answered through the pluggable answerer", async () => {
      const token = fake.issueAccessToken();
      await expectApiError(
        await exec(fake, token, "cam-webrtc", "GenerateWebRtcStream", { offerSdp: "v=0\r\n" }),
        400,
        "INVALID_ARGUMENT",
        "WebRTC is not available in this fake",
      );
      fake.webrtcAnswerer = async (deviceId, offer) => `answer-for-${deviceId}-${offer.length}`;
      const res = await exec(fake, token, "cam-webrtc", "GenerateWebRtcStream", { offerSdp: "v=0\r\n" });
      assert.equal(res.status, 200);
      const { results } = await json<{
        results: { answerSdp: string; mediaSessionId: string; expiresAt: string };
      }>(res);
      assert.equal(results.answerSdp, "answer-for-cam-webrtc-5");
      await clock.advance(100_000);
      const ext = await json<{ results: { mediaSessionId: string; expiresAt: string } }>(
        await exec(fake, token, "cam-webrtc", "ExtendWebRtcStream", {
          mediaSessionId: results.mediaSessionId,
        }),
      );
      assert.equal(ext.results.mediaSessionId, results.mediaSessionId);
      assert.equal(Date.parse(ext.results.expiresAt), clock.now() + 300_000);
      const stop = await exec(fake, token, "cam-webrtc", "StopWebRtcStream", {
        mediaSessionId: results.mediaSessionId,
      });
      assert.equal(stop.status, 200);
      await expectApiError(
        await exec(fake, token, "cam-webrtc", "ExtendWebRtcStream", {
          mediaSessionId: results.mediaSessionId,
        }),
        400,
        "INVALID_ARGUMENT",
      );
    });

    it("ends the camera's side of a session on StopWebRtcStream, on expiry without an extend, and offline", async () => {
      const token = fake.issueAccessToken();
      const ended: string[] = [];
      let n = 0;
      fake.webrtcAnswerer = async () => {
        const id = `session-${++n}`;
        return { answerSdp: "answer", mediaSessionId: id, onEnd: (why) => ended.push(`${id} ${why}`) };
      };
      const generate = async () =>
        (
          await json<{ results: { mediaSessionId: string } }>(
            await exec(fake, token, "cam-webrtc", "GenerateWebRtcStream", { offerSdp: "v=0\r\n" }),
          )
        ).results.mediaSessionId;
      // Stopped: at once.
      const stopped = await generate();
      await exec(fake, token, "cam-webrtc", "StopWebRtcStream", { mediaSessionId: stopped });
      assert.deepEqual(ended, ["session-1 stopped"]);
      // Extended: lives 300 s from the extend, and ends then, unextended.
      const kept = await generate();
      await clock.advance(200_000);
      await exec(fake, token, "cam-webrtc", "ExtendWebRtcStream", { mediaSessionId: kept });
      await clock.advance(299_999);
      assert.deepEqual(ended, ["session-1 stopped"], "alive until its expiresAt");
      await clock.advance(1);
      assert.deepEqual(ended, ["session-1 stopped", "session-2 expired"]);
      await expectApiError(
        await exec(fake, token, "cam-webrtc", "StopWebRtcStream", { mediaSessionId: kept }),
        400,
        "INVALID_ARGUMENT",
      );
      // Offline: its sessions end; each end is told once.
      await generate();
      fake.setOffline("cam-webrtc");
      await clock.advance(600_000);
      assert.deepEqual(ended, ["session-1 stopped", "session-2 expired", "session-3 offline"]);
      fake.setOffline("cam-webrtc", false);
    });

    it("the fake camera closes its peer (no more media) when its session is stopped or expires", async () => {
      const camera = createFakeWebRtcCamera({ media: "none" });
      const clients: RTCPeerConnection[] = [];
      try {
        fake.webrtcAnswerer = camera.answerer;
        const token = fake.issueAccessToken();
        const generate = async () => {
          const pc = new RTCPeerConnection();
          clients.push(pc);
          pc.addTransceiver("audio", { direction: "recvonly" });
          pc.addTransceiver("video", { direction: "recvonly" });
          pc.createDataChannel("dataSendChannel");
          await pc.setLocalDescription(await pc.createOffer());
          const res = await exec(fake, token, "cam-webrtc", "GenerateWebRtcStream", {
            offerSdp: pc.localDescription?.sdp ?? "",
          });
          assert.equal(res.status, 200);
          return (await json<{ results: { mediaSessionId: string } }>(res)).results.mediaSessionId;
        };
        const first = await generate();
        const second = await generate();
        assert.deepEqual(camera.peers.sort(), [first, second].sort(), "the session ids are the peers'");
        await exec(fake, token, "cam-webrtc", "StopWebRtcStream", { mediaSessionId: first });
        assert.deepEqual(camera.peers, [second], "a stopped session's peer is closed");
        await clock.advance(300_000);
        assert.deepEqual(camera.peers, [], "an expired session's peer is closed");
        assert.deepEqual(camera.stats.ended, [
          { mediaSessionId: first, why: "stopped" },
          { mediaSessionId: second, why: "expired" },
        ]);
      } finally {
        await Promise.all(clients.map((pc) => pc.close()));
        await camera.stop();
      }
    });

    it("a battery doorbell refuses ExtendWebRtcStream with FAILED_PRECONDITION but stops", async () => {
      const token = fake.issueAccessToken();
      fake.addDevice({ id: "bell-1", batteryDoorbell: true });
      fake.webrtcAnswerer = async () => "answer";
      const { results } = await json<{ results: { mediaSessionId: string } }>(
        await exec(fake, token, "bell-1", "GenerateWebRtcStream", { offerSdp: "v=0\r\n" }),
      );
      await expectApiError(
        await exec(fake, token, "bell-1", "ExtendWebRtcStream", { mediaSessionId: results.mediaSessionId }),
        400,
        "FAILED_PRECONDITION",
      );
      const stop = await exec(fake, token, "bell-1", "StopWebRtcStream", {
        mediaSessionId: results.mediaSessionId,
      });
      assert.equal(stop.status, 200);
      fake.removeDevice("bell-1");
    });
  });

  describe("rate limits (sliding 60 s windows on the fake clock)", () => {
    it("executeCommand: 10 per minute per project and user → 429 RESOURCE_EXHAUSTED", async () => {
      const token = fake.issueAccessToken();
      // Spread over both RTSP cameras so no per-device limit trips first.
      for (let i = 0; i < 10; i++) {
        const res = await exec(fake, token, i % 2 ? "cam-front" : "cam-garden", "GenerateRtspStream");
        assert.equal(res.status, 200, `call ${i}`);
        await clock.advance(1000);
      }
      const res = await exec(fake, token, "cam-front", "ExtendRtspStream", { streamExtensionToken: "x" });
      await expectApiError(res, 429, "RESOURCE_EXHAUSTED", EXECUTE_RATE_LIMIT_MESSAGE);
      assert.equal(res.headers.get("retry-after"), null, "Google sends none by default");
      // The first call has left the window 60 s after it was made, but the refused one (at 10 s) counts:
      // still 10 in the window, so this one is refused too (and counts as well).
      await clock.advance(50_000);
      await expectApiError(
        await exec(fake, token, "cam-front", "ExtendRtspStream", { streamExtensionToken: "x" }),
        429,
        "RESOURCE_EXHAUSTED",
        EXECUTE_RATE_LIMIT_MESSAGE,
      );
      // Room (9 of 10) once the calls at 1 s and 2 s have left too.
      await clock.advance(2_000);
      assert.equal(
        (await exec(fake, token, "cam-front", "ExtendRtspStream", { streamExtensionToken: "x" })).status,
        400,
      );
      assert.equal(
        fake.maxCommandsInAnyWindow(60_000, (c) => c.status !== 429),
        10,
      );
    });

    it("a refused call counts: a client that ignores Retry-After stays refused, one that waits gets in", async () => {
      const f = await start({ rateLimits: { listPerUser: 2, retryAfterS: "auto" } });
      const token = f.issueAccessToken();
      assert.equal((await sdmGet(f, token, "devices")).status, 200);
      assert.equal((await sdmGet(f, token, "devices")).status, 200);
      // Hammering every 10 s, well past the minute the two admitted calls count for: each refusal
      // keeps the window full, so every call is refused.
      let retryAfter = "";
      for (let t = 10; t <= 180; t += 10) {
        await clock.advance(10_000);
        const res = await sdmGet(f, token, "devices");
        assert.equal(res.status, 429, `call at ${t} s`);
        retryAfter = res.headers.get("retry-after") ?? "";
      }
      // Room (fewer than 2) once every refusal of the last minute but this one has left: the one 10 s
      // ago leaves in 50 s.
      assert.equal(retryAfter, "50");
      // Waiting what it said, with no call meanwhile, gets in.
      await clock.advance(50_000);
      assert.equal((await sdmGet(f, token, "devices")).status, 200, "after Retry-After");
      assert.equal(f.calls.filter((c) => c.status === 429).length, 18);
    });

    it("each command: 5 per minute per device; devices.list: 5 per minute", async () => {
      const token = fake.issueAccessToken();
      for (let i = 0; i < 5; i++)
        assert.equal((await exec(fake, token, "cam-front", "GenerateRtspStream")).status, 200);
      await expectApiError(
        await exec(fake, token, "cam-front", "GenerateRtspStream"),
        429,
        "RESOURCE_EXHAUSTED",
      );
      assert.equal((await exec(fake, token, "cam-garden", "GenerateRtspStream")).status, 200, "other device");

      for (let i = 0; i < 5; i++) assert.equal((await sdmGet(fake, token, "devices")).status, 200);
      await expectApiError(await sdmGet(fake, token, "devices"), 429, "RESOURCE_EXHAUSTED");
      await clock.advance(60_000);
      assert.equal((await sdmGet(fake, token, "devices")).status, 200);
    });

    it("limits are configurable: Retry-After, other numbers, or off", async () => {
      const f = await start({ rateLimits: { listPerUser: 2, retryAfterS: "auto" } });
      const token = f.issueAccessToken();
      await sdmGet(f, token, "devices");
      await clock.advance(20_000);
      await sdmGet(f, token, "devices");
      const res = await sdmGet(f, token, "devices");
      assert.equal(res.status, 429);
      // The refusal counts too: room when the call at 20 s (and this one) have left the window.
      assert.equal(res.headers.get("retry-after"), "60");

      f.setRateLimits(false);
      for (let i = 0; i < 20; i++) assert.equal((await sdmGet(f, token, "devices")).status, 200);
    });
  });

  describe("faults", () => {
    it("5xx with Google's envelope for the next N calls, then normal", async () => {
      const token = fake.issueAccessToken();
      fake.fail(503, 2);
      await expectApiError(await sdmGet(fake, token, "devices"), 503, "UNAVAILABLE");
      await expectApiError(await sdmGet(fake, token, "devices/cam-front"), 503, "UNAVAILABLE");
      assert.equal((await sdmGet(fake, token, "devices")).status, 200);
      fake.fail(500, 1, { on: "ExtendRtspStream" });
      assert.equal((await exec(fake, token, "cam-front", "GenerateRtspStream")).status, 200, "other command");
      await expectApiError(await exec(fake, token, "cam-front", "ExtendRtspStream", {}), 500, "INTERNAL");
      assert.deepEqual(
        fake.calls.map((c) => [c.status, c.fault]),
        [
          [503, 503],
          [503, 503],
          [200, undefined],
          [200, undefined],
          [500, 500],
        ],
      );
    });

    it("429 with Retry-After, and invalid_grant / invalid_client / revoke on the token endpoint", async () => {
      const token = fake.issueAccessToken();
      fake.fail(429, 1, { retryAfterS: 7 });
      const r = await sdmGet(fake, token, "devices");
      await expectApiError(r, 429, "RESOURCE_EXHAUSTED");
      assert.equal(r.headers.get("retry-after"), "7");

      fake.fail("invalid_grant");
      assert.equal((await json(await refresh(fake))).error, "invalid_grant");
      assert.equal((await refresh(fake)).status, 200, "only once");
      fake.fail("invalid_client");
      assert.equal((await refresh(fake)).status, 401);
      fake.fail("revoke");
      assert.equal((await json(await refresh(fake))).error, "invalid_grant");
      assert.equal((await json(await refresh(fake))).error, "invalid_grant", "revoked for good");
      assert.throws(() => fake.fail("invalid_grant", 1, { on: "executeCommand" }), /token endpoint/);
    });

    it("network failure destroys the socket; a delay answers late; hang never answers", async () => {
      const token = fake.issueAccessToken();
      fake.fail("network", 1, { on: "token" });
      await assert.rejects(refresh(fake), TypeError);
      assert.equal(fake.calls[0].status, 0);
      assert.equal(fake.calls[0].fault, "network");

      fake.fail("delay", 1, { delayMs: 150 });
      const t0 = Date.now();
      assert.equal((await sdmGet(fake, token, "devices")).status, 200);
      assert.ok(Date.now() - t0 >= 140);

      fake.fail("hang");
      await assert.rejects(
        fetch(`${fake.url}/v1/enterprises/${fake.projectId}/devices`, {
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(200),
        }),
      );
      assert.equal(fake.calls.at(-1)?.fault, "hang");
    });

    it("offline and unauthenticated faults hit SDM calls only, for a device if asked", async () => {
      const token = fake.issueAccessToken();
      fake.fail("offline", 1, { deviceId: "cam-garden" });
      assert.equal((await exec(fake, token, "cam-front", "GenerateRtspStream")).status, 200);
      await expectApiError(
        await exec(fake, token, "cam-garden", "GenerateRtspStream"),
        400,
        "FAILED_PRECONDITION",
        CAMERA_UNAVAILABLE_MESSAGE,
      );
      assert.equal(fake.device("cam-garden")?.offline, false);
      fake.fail("unauthenticated");
      await expectApiError(await sdmGet(fake, token, "devices"), 401, "UNAUTHENTICATED");
      assert.equal((await sdmGet(fake, token, "devices")).status, 200);
      assert.equal(fake.pendingFaults.length, 0);
    });
  });

  describe("counting", () => {
    it("records every call with time, path, command, device and status", async () => {
      const token = fake.issueAccessToken();
      await sdmGet(fake, token, "devices");
      await clock.advance(1000);
      const gen = (
        await json<{ results: RtspResults }>(await exec(fake, token, "cam-front", "GenerateRtspStream"))
      ).results;
      await clock.advance(240_000);
      await exec(fake, token, "cam-front", "ExtendRtspStream", {
        streamExtensionToken: gen.streamExtensionToken,
      });
      const start = Date.UTC(2026, 0, 1);
      assert.deepEqual(
        fake.calls.map((c) => ({ ...c })),
        [
          {
            at: start,
            method: "GET",
            path: `/v1/enterprises/${fake.projectId}/devices`,
            endpoint: "devices.list",
            status: 200,
          },
          {
            at: start + 1000,
            method: "POST",
            path: `/v1/enterprises/${fake.projectId}/devices/cam-front:executeCommand`,
            endpoint: "executeCommand",
            command: "GenerateRtspStream",
            deviceId: "cam-front",
            status: 200,
          },
          {
            at: start + 241_000,
            method: "POST",
            path: `/v1/enterprises/${fake.projectId}/devices/cam-front:executeCommand`,
            endpoint: "executeCommand",
            command: "ExtendRtspStream",
            deviceId: "cam-front",
            status: 200,
          },
        ],
      );
      assert.equal(fake.calls.filter((c) => c.command === "ExtendRtspStream").length, 1);
      assert.equal(fake.commands("GenerateRtspStream").length, 1);
      assert.equal(fake.maxCommandsInAnyWindow(60_000), 1);
      assert.equal(fake.maxCommandsInAnyWindow(241_000), 2);
    });

    it("SlidingWindows counts a refused call in every window of the call, and says when there is room", async () => {
      const c = new FakeClock(0);
      const w = new SlidingWindows(c, 10_000);
      const user = { key: "user", limit: 2, message: "user" };
      const device = { key: "device", limit: 3, message: "device" };
      assert.equal(w.admit([user, device]), undefined);
      assert.equal(w.admit([user, device]), undefined);
      await c.advance(5_000);
      // Room when the two at 0 s have left (the refusal alone is below the limit): in 5 s.
      assert.deepEqual(w.admit([user, device]), { check: user, untilS: 5 });
      await c.advance(5_000);
      // The two at 0 s have left; the refusal at 5 s still counts, so only one more gets in.
      assert.equal(w.admit([user, device]), undefined);
      assert.deepEqual(w.admit([user, device]), { check: user, untilS: 10 });
      // The device window counted the refused calls too (5 s, 10 s, 10 s): full, though only one got in.
      assert.deepEqual(w.admit([device]), { check: device, untilS: 10 });
    });

    it("maxInWindow counts half-open windows", () => {
      assert.equal(maxInWindow([], 1000), 0);
      assert.equal(maxInWindow([0, 999, 1000, 1500, 1999], 1000), 3);
      assert.equal(maxInWindow([0, 999, 1000], 1000), 2);
      assert.equal(maxInWindow([5, 1, 3], 10), 3);
    });
  });

  describe("convenience", () => {
    it("env() points every endpoint at the fake", () => {
      const e = endpointsFromEnv(fake.env());
      assert.deepEqual(e, {
        oauthTokenUrl: `${fake.url}/token`,
        oauthAuthorizeUrl: `${fake.url}/o/oauth2/v2/auth`,
        partnerAuthUrl: `${fake.url}/partnerconnections`,
        sdmApiUrl: `${fake.url}/v1`,
        youtubeApiUrl: `${fake.url}/youtube/v3`,
        youtubeUploadUrl: `${fake.url}/upload/youtube/v3`,
        pubsubApiUrl: `${fake.url}/v1`,
      });
      assert.match(fake.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(fake.projectId, FAKE_DEFAULTS.projectId);
    });

    it("runs as a program and prints its env overrides as JSON", async function () {
      this.timeout(10_000);
      const script = path.join(__dirname, "..", "fixtures", "fake-google.js");
      const child = spawn(process.execPath, [script, "--port", "0", "--auto-approve"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      try {
        const line = await new Promise<string>((resolve, reject) => {
          let out = "";
          child.stdout.on("data", (c: Buffer) => {
            out += c.toString();
            if (out.includes("\n")) resolve(out.split("\n")[0]);
          });
          child.once("exit", (code) => reject(new Error(`exited with ${code}`)));
        });
        const env = JSON.parse(line) as Record<string, string>;
        const res = await postForm(env.NEST_RESTREAM_OAUTH_TOKEN_URL, {
          grant_type: "refresh_token",
          client_id: FAKE_DEFAULTS.clientId,
          client_secret: FAKE_DEFAULTS.clientSecret,
          refresh_token: FAKE_DEFAULTS.refreshToken,
        });
        const { access_token } = await json(res);
        const devices = await fetch(
          `${env.NEST_RESTREAM_SDM_API_URL}/enterprises/${FAKE_DEFAULTS.projectId}/devices`,
          {
            headers: { authorization: `Bearer ${String(access_token)}` },
          },
        );
        assert.equal(devices.status, 200);
      } finally {
        child.kill("SIGTERM");
      }
    });
  });
});

describe("fake Google, in memory (the same model behind every front)", () => {
  const generate = (http: FakeGoogleTransport, token: string, device = "cam-1") =>
    http.request({
      method: "POST",
      url: `${SDM_URL}/enterprises/${FAKE.projectId}/devices/${device}:executeCommand`,
      headers: { Authorization: `Bearer ${token}` },
      data: { command: `${P}GenerateRtspStream`, params: {} },
      timeoutMs: 10_000,
    });

  it("the transport meets the HTTP fake's rules: tokens, the per-device limit in SDM's envelope, faults", async () => {
    const clock = new FakeClock();
    const http = new FakeGoogleTransport({ clock, devices: [camera("cam-1"), camera("cam-2")] });
    const refresh = await http.request({
      method: "POST",
      url: TOKEN_URL,
      form: { grant_type: "refresh_token", ...toForm(FAKE_CREDENTIALS) },
      timeoutMs: 10_000,
    });
    assert.equal(refresh.status, 200);
    const token = String((refresh.data as Json).access_token);
    assert.ok(http.google.isAccessTokenValid(token));
    for (let i = 0; i < 5; i++) assert.equal((await generate(http, token)).status, 200);
    const refused = await generate(http, token);
    assert.equal(refused.status, 429);
    assert.deepEqual((refused.data as GoogleErr).error.status, "RESOURCE_EXHAUSTED");
    assert.equal((refused.data as GoogleErr).error.message, DEVICE_RATE_LIMIT_MESSAGE);
    assert.equal((await generate(http, token, "cam-2")).status, 200);
    http.google.fail(503, 1, { on: "executeCommand" });
    assert.equal((await generate(http, token, "cam-2")).status, 503);
    assert.equal(http.google.rtspStreams().length, 6);
    await clock.advance(3600_000);
    assert.equal((await generate(http, token, "cam-2")).status, 401);
    assert.equal(http.violations.length, 1);
  });

  it("the transport refuses an extend after expiry and a stop with any but the newest extension token", async () => {
    const clock = new FakeClock();
    const http = new FakeGoogleTransport({ clock, streamLifetimeS: 300 });
    const token = http.google.issueAccessToken();
    const command = (name: string, params: Json) =>
      http.request({
        method: "POST",
        url: `${SDM_URL}/enterprises/${FAKE.projectId}/devices/cam-1:executeCommand`,
        headers: { Authorization: `Bearer ${token}` },
        data: { command: `${P}${name}`, params },
        timeoutMs: 10_000,
      });
    const gen = (await generate(http, token)).data as { results: RtspResults };
    const ext = await command("ExtendRtspStream", {
      streamExtensionToken: gen.results.streamExtensionToken,
    });
    assert.equal(ext.status, 200);
    const newest = (ext.data as { results: RtspResults }).results.streamExtensionToken;
    for (const wrong of [gen.results.streamExtensionToken, "any-token"]) {
      const stop = await command("StopRtspStream", { streamExtensionToken: wrong });
      assert.equal(stop.status, 400, wrong);
      assert.equal((stop.data as GoogleErr).error.status, "INVALID_ARGUMENT");
    }
    await clock.advance(300_000);
    const late = await command("ExtendRtspStream", { streamExtensionToken: newest });
    assert.equal(late.status, 400);
    assert.equal((late.data as GoogleErr).error.status, "INVALID_ARGUMENT");
    assert.equal((late.data as GoogleErr).error.message, "The stream has expired.");
  });

  it("the SDM runner's streams are the SDM module's records", async () => {
    const clock = new FakeClock();
    const runner = new FakeSdmRunner(clock);
    const gen = await runner.execute(DEVICE_ID, "GenerateRtspStream", {});
    const ext = await runner.execute(DEVICE_ID, "ExtendRtspStream", {
      streamExtensionToken: gen.streamExtensionToken,
    });
    assert.deepEqual(runner.model.rtspRecords(), runner.streams);
    const info = runner.model.rtspStream(runner.streams[0].id);
    assert.equal(info?.streamExtensionToken, ext.streamExtensionToken);
    assert.equal(info?.extensions, 1);
    await assert.rejects(
      runner.execute(DEVICE_ID, "ExtendRtspStream", { streamExtensionToken: gen.streamExtensionToken }),
      /no longer valid/,
    );
  });
});

function toForm(credentials: typeof FAKE_CREDENTIALS): Record<string, string> {
  return {
    client_id: credentials.clientId,
    client_secret: credentials.clientSecret,
    refresh_token: credentials.refreshToken,
  };
}
