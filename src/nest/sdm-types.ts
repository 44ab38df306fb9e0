/** Smart Device Management API shapes (design section 5). */

export const CAMERA_LIVE_STREAM = "sdm.devices.traits.CameraLiveStream";
export const INFO_TRAIT = "sdm.devices.traits.Info";
export const COMMAND_PREFIX = "sdm.devices.commands.CameraLiveStream.";
export const CAMERA_EVENT_IMAGE = "sdm.devices.traits.CameraEventImage";
export const EVENT_IMAGE_COMMAND_PREFIX = "sdm.devices.commands.CameraEventImage.";

export type StreamProtocol = "RTSP" | "WEB_RTC";

export interface CameraLiveStreamTrait {
  maxVideoResolution?: { width: number; height: number };
  videoCodecs?: string[];
  audioCodecs?: string[];
  supportedProtocols?: StreamProtocol[];
}

export interface SdmDevice {
  /** `enterprises/{project}/devices/{id}` */
  name: string;
  type: string;
  traits: Record<string, unknown> & {
    [CAMERA_LIVE_STREAM]?: CameraLiveStreamTrait;
    [INFO_TRAIT]?: { customName?: string };
  };
  parentRelations?: { parent: string; displayName?: string }[];
}

export interface GenerateRtspStreamResult {
  streamUrls: { rtspUrl: string };
  streamExtensionToken: string;
  streamToken: string;
  expiresAt: string;
}
export interface ExtendRtspStreamResult {
  streamExtensionToken: string;
  streamToken: string;
  expiresAt: string;
}
export interface GenerateWebRtcStreamResult {
  answerSdp: string;
  expiresAt: string;
  mediaSessionId: string;
}
/** `GenerateImage`'s answer: where the event's JPEG is and the Basic token that reads it (a secret). */
export interface GenerateImageResult {
  url: string;
  token: string;
}
export interface ExtendWebRtcStreamResult {
  expiresAt: string;
  mediaSessionId: string;
}

/** The command name → params → results map, so `execute` is typed per command. */
export interface SdmCommands {
  GenerateRtspStream: { params: Record<string, never>; results: GenerateRtspStreamResult };
  ExtendRtspStream: { params: { streamExtensionToken: string }; results: ExtendRtspStreamResult };
  StopRtspStream: { params: { streamExtensionToken: string }; results: Record<string, never> };
  GenerateWebRtcStream: { params: { offerSdp: string }; results: GenerateWebRtcStreamResult };
  ExtendWebRtcStream: { params: { mediaSessionId: string }; results: ExtendWebRtcStreamResult };
  StopWebRtcStream: { params: { mediaSessionId: string }; results: Record<string, never> };
  GenerateImage: { params: { eventId: string }; results: GenerateImageResult };
}
export type SdmCommandName = keyof SdmCommands;

/** The full command name the API takes: `sdm.devices.commands.<Trait>.<command>`. */
export function fullCommandName(command: SdmCommandName): string {
  return (command === "GenerateImage" ? EVENT_IMAGE_COMMAND_PREFIX : COMMAND_PREFIX) + command;
}

/**
 * What the stream keepers need of the SDM client (`SdmClient` fits structurally; tests pass fakes).
 * The client applies the project-wide command budget and its own bounded retries (429/5xx, 401 →
 * token refresh) inside `execute`, and throws the typed errors of errors.ts.
 */
export interface SdmCommandExecutor {
  execute<C extends SdmCommandName>(
    deviceId: string,
    command: C,
    params: SdmCommands[C]["params"],
  ): Promise<SdmCommands[C]["results"]>;
}

/** The executor plus the device look-up, for keepers that check the camera first. */
export interface SdmCommandRunner extends SdmCommandExecutor {
  device(deviceId: string): Promise<SdmDevice>;
}

/** What the editor's camera picker and the nest-stream node need to know about a camera. */
export interface CameraInfo {
  /** Short device id (last path segment of `name`). */
  id: string;
  name: string;
  displayName: string;
  room?: string;
  type: string;
  isCamera: boolean;
  protocols: StreamProtocol[];
  resolution?: { width: number; height: number };
  videoCodecs: string[];
  audioCodecs: string[];
}

export function deviceId(name: string): string {
  return name.split("/").pop() ?? name;
}

export function describeDevice(device: SdmDevice): CameraInfo {
  const live = device.traits[CAMERA_LIVE_STREAM];
  const room = device.parentRelations?.[0]?.displayName;
  const custom = device.traits[INFO_TRAIT]?.customName;
  const id = deviceId(device.name);
  return {
    id,
    name: device.name,
    displayName: custom || room || id,
    room,
    type: device.type,
    isCamera: !!live,
    protocols: live?.supportedProtocols ?? [],
    resolution: live?.maxVideoResolution,
    videoCodecs: live?.videoCodecs ?? [],
    audioCodecs: live?.audioCodecs ?? [],
  };
}
