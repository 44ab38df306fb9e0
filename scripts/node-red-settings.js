// Settings for `npm start`: loopback only, credentials encrypted with a local key.
"use strict";
module.exports = {
  uiHost: process.env.HOST || "127.0.0.1",
  flowFile: "flows.json",
  credentialSecret: process.env.NODE_RED_CREDENTIAL_SECRET || "nest-restream-dev",
  logging: { console: { level: process.env.NODE_RED_LOG_LEVEL || "info", metrics: false, audit: false } },
  editorTheme: { projects: { enabled: false }, tours: false },
  functionExternalModules: false,
  // No prompt about update checks in a development editor (and no call home from a machine that may be offline).
  telemetry: { enabled: false },
};
