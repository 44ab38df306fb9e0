/** WebRTC-only Nest cameras as local RTSP streams (framework-free core). */
export {
  WebRtcBridge,
  type WebRtcBridgeOptions,
  type WebRtcUrlEvent,
  type WebRtcBridgeStateEvent,
  type WebRtcBridgeEvents,
} from "./webrtc-bridge";
export {
  WebRtcSession,
  isFatalSdmError,
  type WebRtcSessionOptions,
  type WebRtcState,
  type WebRtcStateEvent,
  type WebRtcSessionEvent,
  type WebRtcSessionEvents,
  type WebRtcRtpEvent,
} from "./webrtc-session";
export {
  LocalRtspServer,
  RTSP_SERVER_LIMITS,
  type LocalRtspServerOptions,
  type RtspServerLimits,
  type RtspStreamDescription,
  type RtspStreamSource,
} from "./rtsp-server";
export type { NegotiatedMedia, NegotiatedVideo, NegotiatedAudio } from "./sdp";
export {
  RtspAuthenticator,
  isLoopbackHost,
  withCredentials,
  type RtspAuthOptions,
  type RtspCredentials,
} from "./rtsp-auth";
