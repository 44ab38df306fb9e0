/**
 * Local RTSP servers shared by the WebRTC bridges of one process: every camera that asks for the
 * same bind address and port is served by one LocalRtspServer, each at its own path
 * (`rtsp://<host>:<port>/<device id>`). A server listens while at least one lease holds it and
 * closes when the last is released.
 */
import { LocalRtspServer, type LocalRtspServerOptions } from "./rtsp-server";

export interface RtspServerLeaseOptions {
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: an ephemeral port). */
  port?: number;
  /**
   * When the port is in use by another program, listen on an ephemeral port instead of failing
   * (the lease says so with `fellBack`). Default false.
   */
  fallbackToEphemeral?: boolean;
  /** What one client may send and hold (the first lease of an address sets them). */
  limits?: LocalRtspServerOptions["limits"];
  log?: LocalRtspServerOptions["log"];
}

export interface RtspServerLease {
  readonly server: LocalRtspServer;
  /** The port asked for was in use: the server listens on an ephemeral port instead. */
  readonly fellBack: boolean;
  /** Gives the lease back (once); the last lease of a server closes it. */
  release(): Promise<void>;
}

interface Entry {
  server: LocalRtspServer;
  users: number;
  fellBack: boolean;
  ready: Promise<void>;
}

export class RtspServerPool {
  private readonly entries = new Map<string, Entry>();
  private readonly closing = new Map<string, Promise<void>>();

  constructor(
    private readonly create: (options: LocalRtspServerOptions) => LocalRtspServer = (o) =>
      new LocalRtspServer(o),
  ) {}

  /** A listening server for `host`:`port`, shared with every other lease of that address. */
  async acquire(options: RtspServerLeaseOptions = {}): Promise<RtspServerLease> {
    const host = options.host || "127.0.0.1";
    const port = options.port ?? 0;
    const key = `${host}|${port}`;
    // A server of this address that is still closing must let go of its port first.
    await this.closing.get(key);
    let entry = this.entries.get(key);
    if (!entry) {
      const created: Entry = {
        server: this.create({ host, port, limits: options.limits, log: options.log }),
        users: 0,
        fellBack: false,
        ready: Promise.resolve(),
      };
      created.ready = this.listen(created, host, options).catch((err: unknown) => {
        if (this.entries.get(key) === created) this.entries.delete(key);
        throw err;
      });
      this.entries.set(key, created);
      entry = created;
    }
    entry.users++;
    try {
      await entry.ready;
    } catch (err) {
      entry.users--;
      throw err;
    }
    const held = entry;
    let released = false;
    return {
      server: held.server,
      fellBack: held.fellBack,
      release: async () => {
        if (released) return;
        released = true;
        held.users--;
        if (held.users > 0 || this.entries.get(key) !== held) return;
        this.entries.delete(key);
        const closed = held.server.close().finally(() => {
          if (this.closing.get(key) === closed) this.closing.delete(key);
        });
        this.closing.set(key, closed);
        await closed;
      },
    };
  }

  /** Servers listening now (tests, benchmark). */
  get size(): number {
    return this.entries.size;
  }

  private async listen(entry: Entry, host: string, options: RtspServerLeaseOptions): Promise<void> {
    try {
      await entry.server.listen();
    } catch (err) {
      const inUse = (err as { code?: unknown } | null)?.code === "EADDRINUSE";
      if (!inUse || !options.fallbackToEphemeral || !options.port) throw err;
      entry.server = this.create({ host, port: 0, limits: options.limits, log: options.log });
      entry.fellBack = true;
      await entry.server.listen();
    }
  }
}

/** The pool the nest-stream nodes of this Node-RED process share. */
export const sharedRtspServers = new RtspServerPool();
