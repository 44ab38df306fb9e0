/** Google endpoints, overridable through the environment (design section 4) for tests and proxies. */
export interface Endpoints {
  oauthTokenUrl: string;
  oauthAuthorizeUrl: string;
  partnerAuthUrl: string;
  sdmApiUrl: string;
  youtubeApiUrl: string;
  youtubeUploadUrl: string;
  pubsubApiUrl: string;
}

export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): Endpoints {
  const strip = (u: string) => u.replace(/\/+$/, "");
  return {
    oauthTokenUrl: env.NEST_RESTREAM_OAUTH_TOKEN_URL || "https://oauth2.googleapis.com/token",
    oauthAuthorizeUrl:
      env.NEST_RESTREAM_OAUTH_AUTHORIZE_URL || "https://accounts.google.com/o/oauth2/v2/auth",
    partnerAuthUrl: strip(
      env.NEST_RESTREAM_PARTNER_AUTH_URL || "https://nestservices.google.com/partnerconnections",
    ),
    sdmApiUrl: strip(env.NEST_RESTREAM_SDM_API_URL || "https://smartdevicemanagement.googleapis.com/v1"),
    youtubeApiUrl: strip(env.NEST_RESTREAM_YOUTUBE_API_URL || "https://www.googleapis.com/youtube/v3"),
    youtubeUploadUrl: strip(
      env.NEST_RESTREAM_YOUTUBE_UPLOAD_URL || "https://www.googleapis.com/upload/youtube/v3",
    ),
    pubsubApiUrl: strip(env.NEST_RESTREAM_PUBSUB_API_URL || "https://pubsub.googleapis.com/v1"),
  };
}
