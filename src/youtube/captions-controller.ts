/**
 * One youtube-captions node's core (design section 3): what each message means in its mode, the
 * ingestion URL in use (credential, or `msg.captions.url` from youtube-live), its poster, and in
 * clock mode the local time posted every `everySeconds` between "start" and "stop".
 */
import { EventEmitter } from "node:events";
import { systemClock, type Clock, type Timer } from "../clock";
import type { HttpTransport } from "../google/http";
import { CaptionPoster, type CaptionResult } from "./caption-poster";
import {
  CaptionInputError,
  formatClock,
  isCaptionUrl,
  parseCaptionInput,
  type CaptionMode,
} from "./caption-input";

export interface CaptionsSettings {
  mode: CaptionMode;
  /** Clock mode: a caption every this many seconds (at least 1). */
  everySeconds: number;
  /** Clock mode: see `formatClock`. */
  timeFormat: string;
  /** The node's credential, if any. */
  url?: string;
}

export interface CaptionsStatus {
  mode: CaptionMode;
  /** Clock mode: the clock is posting. */
  running: boolean;
  hasUrl: boolean;
  sent: number;
  dropped: number;
  last?: CaptionResult;
}

export interface CaptionsControllerOptions {
  http?: HttpTransport;
  clock?: Clock;
  random?: () => number;
}

/**
 * Events: "result" (CaptionResult) for each caption the clock posts; "status" (CaptionsStatus) on
 * every change. Text captions resolve `input()` with their result instead.
 */
export class CaptionsController extends EventEmitter {
  private readonly settings: CaptionsSettings;
  private readonly options: CaptionsControllerOptions;
  private readonly clock: Clock;
  private poster?: CaptionPoster;
  private url?: string;
  private timer?: Timer;
  private running = false;
  private closed = false;

  constructor(settings: CaptionsSettings, options: CaptionsControllerOptions = {}) {
    super();
    this.settings = { ...settings, everySeconds: Math.max(1, settings.everySeconds) };
    this.options = options;
    this.clock = options.clock ?? systemClock;
    if (settings.url && isCaptionUrl(settings.url)) this.url = settings.url.trim();
  }

  /** Whether the credential, if one was given, is a caption URL. */
  static validCredential(url: string | undefined): boolean {
    return !url || isCaptionUrl(url);
  }

  /**
   * Handles one message: a text caption resolves with its result; a clock command or a URL with
   * null. Throws CaptionInputError for what it cannot take, and changes nothing then.
   */
  async input(msg: {
    payload?: unknown;
    captions?: unknown;
    stream?: unknown;
  }): Promise<CaptionResult | null> {
    const input = parseCaptionInput(this.settings.mode, msg);
    if (input.action !== "stop" && !input.url && !this.url) throw new CaptionInputError("noUrl", "no URL");
    if (input.url) this.useUrl(input.url);
    switch (input.action) {
      case "caption": {
        const result = this.currentPoster().post(input.text);
        this.report();
        return this.reported(await result);
      }
      case "start":
        this.start();
        return null;
      case "stop":
        this.stop();
        return null;
      case "url":
        this.report();
        return null;
    }
  }

  status(): CaptionsStatus {
    const stats = this.poster?.stats();
    return {
      mode: this.settings.mode,
      running: this.running,
      hasUrl: !!this.url,
      sent: stats?.sent ?? 0,
      dropped: stats?.dropped ?? 0,
      ...(stats?.last ? { last: stats.last } : {}),
    };
  }

  close(): void {
    this.closed = true;
    this.stop();
    this.poster?.close();
    this.poster = undefined;
  }

  private useUrl(url: string): void {
    if (url === this.url) return;
    this.url = url;
    // Captions already queued for the old URL are given up on (its broadcast is over).
    this.poster?.close();
    this.poster = undefined;
  }

  private currentPoster(): CaptionPoster {
    if (!this.url) throw new CaptionInputError("noUrl", "no URL");
    this.poster ??= new CaptionPoster({
      url: this.url,
      http: this.options.http,
      clock: this.clock,
      random: this.options.random,
    });
    return this.poster;
  }

  private start(): void {
    if (this.running || this.closed) {
      this.report();
      return;
    }
    this.running = true;
    this.report();
    this.tick();
  }

  private stop(): void {
    const was = this.running;
    this.running = false;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (was) this.report();
  }

  /** Posts the time now, then waits for the next whole interval of the local clock. */
  private tick(): void {
    if (!this.running || this.closed) return;
    const now = this.clock.now();
    void this.currentPoster()
      .post(formatClock(now, this.settings.timeFormat))
      .then((result) => {
        if (this.closed) return;
        this.emit("result", this.reported(result));
      });
    const every = this.settings.everySeconds * 1000;
    this.timer = this.clock.setTimeout(() => this.tick(), every - (now % every));
  }

  private reported(result: CaptionResult): CaptionResult {
    this.report();
    return result;
  }

  private report(): void {
    if (!this.closed) this.emit("status", this.status());
  }
}
