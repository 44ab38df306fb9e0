/**
 * An in-memory HttpTransport onto the fake YouTube: the real LiveApi (charging, tokens, error
 * reading) talks to the same model the HTTP fake serves, on a fake clock, with no socket.
 */
import type { HttpRequest, HttpResponse, HttpTransport } from "../../src/google/http";
import { resetCaptionState } from "../../src/youtube/caption-poster";
import { FakeCaptions } from "../fixtures/fake-google/captions";
import { FakeGoogleTransport } from "../fixtures/fake-google/transport";
import type { FakeYouTube } from "../fixtures/fake-google/youtube";
import { FakeClock } from "./fake-clock";

export class FakeYouTubeTransport implements HttpTransport {
  readonly requests: { method: string; url: string }[] = [];
  /** Requests that YouTube carries out but whose answer never arrives (the connection resets). */
  private lost: { method: string; path: string; remaining: number; then?: () => void }[] = [];
  constructor(
    private readonly youtube: FakeYouTube,
    private readonly base = "https://youtube.test/youtube/v3",
  ) {}

  /**
   * The next `times` `method` requests of `path` ("/liveBroadcasts") take effect and lose their
   * answer; `then` runs as each answer is lost (to arrange what follows).
   */
  loseAnswers(method: string, path: string, times = 1, then?: () => void): void {
    this.lost.push({ method, path, remaining: times, then });
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    this.requests.push({ method: req.method, url: req.url });
    const url = new URL(req.url);
    const path = url.pathname.slice(new URL(this.base).pathname.length);
    const reply = this.youtube.handle({ method: req.method, path, query: url.searchParams, body: req.data });
    const lose = this.lost.find((l) => l.remaining > 0 && l.method === req.method && l.path === path);
    if (lose) {
      lose.remaining--;
      lose.then?.();
      throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    }
    let data: unknown = reply.body;
    try {
      data = reply.body ? (JSON.parse(reply.body) as unknown) : "";
    } catch {
      data = reply.body;
    }
    return { status: reply.status, headers: { ...reply.headers }, data };
  }
}

/** Tokens that are always good: the fake YouTube does not check them (the HTTP fake does). */
export const alwaysToken = {
  withToken: <T>(fn: (token: string) => Promise<T>): Promise<T> => fn("ya29.fake-youtube-unit-token"),
};

/**
 * A fresh fake caption endpoint (the fake Google's captions module, in memory) on a fake clock at
 * 2026-12-01 20:00 UTC, knowing `cids`; the seq and clock offsets kept per URL by earlier tests are forgotten.
 */
export function captionEndpoint(...cids: string[]): {
  clock: FakeClock;
  transport: FakeGoogleTransport;
  captions: FakeCaptions;
} {
  resetCaptionState();
  const clock = new FakeClock(Date.UTC(2026, 11, 1, 20, 0, 0));
  const transport = new FakeGoogleTransport({ clock });
  const captions = new FakeCaptions(clock);
  for (const cid of cids) captions.addKey(cid);
  transport.google.use(captions);
  return { clock, transport, captions };
}
