/**
 * The commands of one nest-stream node (start, stop, restart, a switch of camera), applied one
 * after another to the stream of the camera they are for. Framework-free.
 *
 * - Commands run in the order they arrive, each after the previous one has finished: a "stop" that
 *   arrives during a restart or a camera switch is applied after it, never lost.
 * - A start for another camera stops the old camera's stream first (its "stopped" goes out, so
 *   readers stop) and then starts a new CameraStream; the full device name and the short id are the
 *   same camera.
 * - Events ('url', 'state') are those of the current camera's stream only; 'warning' from any.
 *   A command that fails with no stream to show reports state "error" itself and rejects.
 * - 'failure' (text): the current stream ended in state "error" (for the log).
 */
import { EventEmitter } from "node:events";
import type { StreamWarning } from "./stream-reason";
import { deviceId as shortDeviceId } from "../nest/sdm-types";
import { errorMessage } from "../redact";
import type { CameraStream } from "./camera-stream";
import type { StreamCommand } from "./stream-command";
import type { CameraUrlEvent, StreamState } from "./stream-state";

export const NO_DEVICE_MESSAGE =
  'nest-stream has no camera: set a device id in the node or send msg.deviceId with "start".';

export interface StreamControllerEvents {
  url: [CameraUrlEvent];
  state: [StreamState];
  warning: [StreamWarning];
  failure: [string];
}

export interface StreamControllerOptions {
  /** The camera of a command that names none (the node's setting); empty for none. */
  deviceId?: string;
  /** Makes the stream of a camera (not started); may throw what the user must fix. */
  create: (deviceId: string) => CameraStream;
  /** The error when neither the command nor the setting names a camera. */
  noDeviceMessage?: string;
}

export class StreamController extends EventEmitter<StreamControllerEvents> {
  private readonly configuredDevice: string;
  private readonly create: (deviceId: string) => CameraStream;
  private readonly noDeviceMessage: string;
  private current?: CameraStream;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private lastState: StreamState = { state: "stopped" };

  constructor(options: StreamControllerOptions) {
    super();
    this.configuredDevice = (options.deviceId ?? "").trim();
    this.create = options.create;
    this.noDeviceMessage = options.noDeviceMessage ?? NO_DEVICE_MESSAGE;
  }

  /** The current camera's stream, if one was made. */
  get stream(): CameraStream | undefined {
    return this.current;
  }

  /** The last state reported. */
  get state(): StreamState {
    return { ...this.lastState };
  }

  /**
   * Applies the command after those before it. Rejects (with a message for the user) when it cannot
   * be applied; a stream that fails later reports it as a state.
   */
  command(command: StreamCommand): Promise<void> {
    const run = this.queue.then(() => (this.closed ? undefined : this.apply(command)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * After the command in flight: stops the stream (bounded in time); later commands are ignored.
   * `park` (a redeploy): the camera's live session is left for the node that replaces this one
   * (CameraStream.park) instead of stopped.
   */
  close(options: { park?: boolean } = {}): Promise<void> {
    this.closed = true;
    return this.queue
      .then(async () => {
        const stream = this.current;
        this.current = undefined;
        await (options.park ? stream?.park() : stream?.stop());
      })
      .catch(() => undefined);
  }

  private async apply(command: StreamCommand): Promise<void> {
    try {
      if (command.action === "stop") {
        await this.current?.stop();
        return;
      }
      const deviceId = command.deviceId ?? this.configuredDevice;
      if (!deviceId) throw new Error(this.noDeviceMessage);
      await this.start(deviceId, command.action === "restart");
    } catch (err) {
      const message = errorMessage(err);
      if (!this.current) this.setState({ state: "error", reason: message });
      throw new Error(message);
    }
  }

  private async start(deviceId: string, restart: boolean): Promise<void> {
    if (this.current && shortDeviceId(this.current.deviceId) !== shortDeviceId(deviceId)) {
      // Another camera: the old stream's "stopped" goes out (readers stop) before the new one starts.
      await this.current.stop();
      this.current = undefined;
    }
    if (!this.current) {
      this.current = this.watch(this.create(deviceId));
      this.current.start();
    } else if (restart) {
      await this.current.restart();
    } else {
      this.current.start();
    }
  }

  private watch(stream: CameraStream): CameraStream {
    stream.on("url", (ev) => {
      if (stream === this.current) this.emit("url", ev);
    });
    stream.on("state", (state) => {
      if (stream !== this.current) return;
      this.setState(state);
      if (state.state === "error" && state.reason) this.emit("failure", state.reason);
    });
    stream.on("warning", (warning) => this.emit("warning", warning));
    return stream;
  }

  private setState(state: StreamState): void {
    this.lastState = state;
    this.emit("state", state);
  }
}
