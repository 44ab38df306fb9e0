/**
 * A fake SDM command runner for the stream keeper's unit tests. It models stream lifetimes on a
 * FakeClock the way section 5 of the design describes SDM: a stream lives `lifetimeMs` from the
 * command that made or extended it; every extend rotates both tokens; only the newest extension
 * token is accepted; expired or stopped streams reject extends. Every call is recorded.
 */
import { sleep } from "../../src/clock";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../../src/google/errors";
import {
  CAMERA_LIVE_STREAM,
  INFO_TRAIT,
  type SdmCommandName,
  type SdmCommands,
  type SdmDevice,
  type StreamProtocol,
} from "../../src/nest/sdm-types";
import type { SdmCommandRunner } from "../../src/stream/stream-keeper";
import type { FakeClock } from "./fake-clock";

export interface FakeStream {
  id: string;
  /** Sequence number (1 for the first stream generated). */
  n: number;
  /** Every streamToken issued for it, oldest first; the last is the newest. */
  streamTokens: string[];
  /** Every extension token issued for it, oldest first; only the last is accepted. */
  extensionTokens: string[];
  createdAt: number;
  expiresAt: number;
  stoppedAt?: number;
}

export interface FakeCall {
  at: number;
  deviceId: string;
  command: SdmCommandName | "device";
  params?: unknown;
  /** "ok", or the error's class name. */
  outcome?: string;
}

type Failure = Error | ((call: FakeCall) => Error | undefined);

/** A promise the test settles by hand, to hold a command in flight. */
export class Gate {
  private open!: () => void;
  readonly promise = new Promise<void>((resolve) => (this.open = resolve));
  release(): void {
    this.open();
  }
}

export const PROJECT = "enterprises/project-fake";
export const DEVICE_ID = "AVPHwEuBfnPOnTqzVDT9";

export function cameraDevice(
  options: {
    id?: string;
    customName?: string;
    room?: string;
    protocols?: StreamProtocol[];
    type?: string;
  } = {},
): SdmDevice {
  const id = options.id ?? DEVICE_ID;
  const traits: SdmDevice["traits"] = {
    [INFO_TRAIT]: { customName: options.customName ?? "Front door" },
    [CAMERA_LIVE_STREAM]: {
      maxVideoResolution: { width: 1920, height: 1080 },
      videoCodecs: ["H264"],
      audioCodecs: ["AAC"],
      supportedProtocols: options.protocols ?? ["RTSP"],
    },
  };
  return {
    name: `${PROJECT}/devices/${id}`,
    type: options.type ?? "sdm.devices.types.CAMERA",
    traits,
    parentRelations: [{ parent: `${PROJECT}/structures/s1/rooms/r1`, displayName: options.room ?? "Porch" }],
  };
}

export function thermostatDevice(id = DEVICE_ID): SdmDevice {
  return {
    name: `${PROJECT}/devices/${id}`,
    type: "sdm.devices.types.THERMOSTAT",
    traits: { [INFO_TRAIT]: { customName: "Hallway" } },
    parentRelations: [{ parent: `${PROJECT}/structures/s1/rooms/r2`, displayName: "Hall" }],
  };
}

export class FakeSdmRunner implements SdmCommandRunner {
  readonly calls: FakeCall[] = [];
  readonly streams: FakeStream[] = [];
  /** Stream lifetime after generate or extend. */
  lifetimeMs: number;
  /** Answer time of every call (on the fake clock). */
  latencyMs = 0;
  /** Added to the expiresAt the fake reports (Google's clock ahead of the local one when positive). */
  reportSkewMs = 0;
  /** GenerateRtspStream answers FAILED_PRECONDITION "camera offline" while true. */
  offline = false;
  deviceData: SdmDevice;
  private readonly failures = new Map<string, Failure[]>();
  private readonly gates = new Map<string, Gate[]>();
  private seq = 0;

  constructor(
    private readonly clock: FakeClock,
    options: { lifetimeMs?: number; device?: SdmDevice } = {},
  ) {
    this.lifetimeMs = options.lifetimeMs ?? 5 * 60_000;
    this.deviceData = options.device ?? cameraDevice();
  }

  /** The next calls of `command` fail with these errors, in order (a function may decide per call). */
  fail(command: SdmCommandName | "device", ...errors: Failure[]): void {
    this.failures.set(command, [...(this.failures.get(command) ?? []), ...errors]);
  }

  /** The next call of `command` waits until the returned gate is released. */
  hold(command: SdmCommandName | "device"): Gate {
    const gate = new Gate();
    this.gates.set(command, [...(this.gates.get(command) ?? []), gate]);
    return gate;
  }

  async device(deviceId: string): Promise<SdmDevice> {
    const call = this.record(deviceId, "device");
    await this.wait("device");
    this.maybeFail("device", call);
    this.checkDeviceId(deviceId, call);
    call.outcome = "ok";
    return JSON.parse(JSON.stringify(this.deviceData)) as SdmDevice;
  }

  async execute<C extends SdmCommandName>(
    deviceId: string,
    command: C,
    params: SdmCommands[C]["params"],
  ): Promise<SdmCommands[C]["results"]> {
    const call = this.record(deviceId, command, params);
    await this.wait(command);
    this.maybeFail(command, call);
    this.checkDeviceId(deviceId, call);
    const result = this.answer(command, params as Record<string, string>, call);
    call.outcome = "ok";
    return result as SdmCommands[C]["results"];
  }

  // ---- what tests ask --------------------------------------------------------------------------

  commands(name?: SdmCommandName | "device"): FakeCall[] {
    return this.calls.filter((c) => (name ? c.command === name : c.command !== "device"));
  }

  isAliveStream(s: FakeStream, at = this.clock.now()): boolean {
    return s.stoppedAt === undefined && at < s.expiresAt;
  }

  liveStreams(): FakeStream[] {
    return this.streams.filter((s) => this.isAliveStream(s));
  }

  /** True when `url` names a live stream and carries its newest streamToken. */
  isAlive(url: string | null | undefined): boolean {
    const s = this.streamOf(url);
    return !!s && this.isAliveStream(s) && tokenOf(url!) === s.streamTokens[s.streamTokens.length - 1];
  }

  streamOf(url: string | null | undefined): FakeStream | undefined {
    if (!url) return undefined;
    const id = /\/sdm_live_stream\/([^?]+)/.exec(url)?.[1];
    return this.streams.find((s) => s.id === id);
  }

  /** Every token the fake has issued (to check none leaks into texts). */
  allTokens(): string[] {
    return this.streams.flatMap((s) => [...s.streamTokens, ...s.extensionTokens]);
  }

  // ---- the model -----------------------------------------------------------------------------

  private answer(command: SdmCommandName, params: Record<string, string>, call: FakeCall): unknown {
    const now = this.clock.now();
    switch (command) {
      case "GenerateRtspStream": {
        if (this.offline) throw this.failed(call, new FailedPreconditionError("The camera is offline."));
        const n = ++this.seq;
        const s: FakeStream = {
          id: `CjY5Y3VKaDZ${n}`,
          n,
          streamTokens: [this.token("st", n, 0)],
          extensionTokens: [this.token("ext", n, 0)],
          createdAt: now,
          expiresAt: now + this.lifetimeMs,
        };
        this.streams.push(s);
        return {
          streamUrls: {
            rtspUrl: `rtsps://stream-ue1-delta.dropcam.com:443/sdm_live_stream/${s.id}?auth=${s.streamTokens[0]}`,
          },
          streamExtensionToken: s.extensionTokens[0],
          streamToken: s.streamTokens[0],
          expiresAt: new Date(s.expiresAt + this.reportSkewMs).toISOString(),
        };
      }
      case "ExtendRtspStream": {
        const s = this.byExtensionToken(params.streamExtensionToken, call);
        s.streamTokens.push(this.token("st", s.n, s.streamTokens.length));
        s.extensionTokens.push(this.token("ext", s.n, s.extensionTokens.length));
        s.expiresAt = now + this.lifetimeMs;
        return {
          streamExtensionToken: s.extensionTokens[s.extensionTokens.length - 1],
          streamToken: s.streamTokens[s.streamTokens.length - 1],
          expiresAt: new Date(s.expiresAt + this.reportSkewMs).toISOString(),
        };
      }
      case "StopRtspStream": {
        const s = this.byExtensionToken(params.streamExtensionToken, call);
        s.stoppedAt = now;
        return {};
      }
      default:
        throw this.failed(call, new InvalidArgumentError(`${command} is not modelled by the fake.`));
    }
  }

  private byExtensionToken(token: string, call: FakeCall): FakeStream {
    const s = this.streams.find((x) => x.extensionTokens.includes(token));
    if (!s) throw this.failed(call, new InvalidArgumentError("Invalid stream extension token."));
    if (s.extensionTokens[s.extensionTokens.length - 1] !== token) {
      throw this.failed(call, new InvalidArgumentError("Stream extension token is not the newest."));
    }
    if (!this.isAliveStream(s))
      throw this.failed(call, new InvalidArgumentError("Stream has expired or stopped."));
    return s;
  }

  private token(kind: string, stream: number, generation: number): string {
    // Shaped like opaque base64 secrets; unique per stream and generation.
    return `${kind === "st" ? "g.0.stok" : "CUB9ext"}${stream}x${generation}Zq8`;
  }

  private record(deviceId: string, command: FakeCall["command"], params?: unknown): FakeCall {
    const call: FakeCall = { at: this.clock.now(), deviceId, command, params };
    this.calls.push(call);
    return call;
  }

  private async wait(command: string): Promise<void> {
    const gate = this.gates.get(command)?.shift();
    if (gate) await gate.promise;
    if (this.latencyMs > 0) await sleep(this.clock, this.latencyMs);
  }

  private maybeFail(command: string, call: FakeCall): void {
    const queue = this.failures.get(command);
    if (!queue || queue.length === 0) return;
    const next = queue.shift()!;
    const err = typeof next === "function" ? next(call) : next;
    if (err) throw this.failed(call, err);
  }

  private checkDeviceId(deviceId: string, call: FakeCall): void {
    const id = this.deviceData.name.split("/").pop();
    if (deviceId !== id && deviceId !== this.deviceData.name) {
      throw this.failed(call, new NotFoundError(`Device ${deviceId} not found.`));
    }
  }

  private failed(call: FakeCall, err: Error): Error {
    call.outcome = err.name;
    return err;
  }
}

function tokenOf(url: string): string | undefined {
  return /[?&]auth=([^&#]*)/.exec(url)?.[1];
}
