/**
 * Every admin route this package registers (`RED.httpAdmin` in nodes/lib), with the permission that
 * guards it (none: Google's redirect to the callback cannot carry the admin token). One list for the
 * node test that checks it is complete and the end-to-end test that sends each one to a real
 * Node-RED with adminAuth.
 */
export interface AdminRoute {
  method: "GET" | "POST";
  /** The path as registered (`:id` for a parameter). */
  path: string;
  permission: string | null;
}

export const ADMIN_ROUTES: readonly AdminRoute[] = [
  { method: "GET", path: "/nest-restream/accounts/:id/cameras", permission: "nest-account.read" },
  { method: "POST", path: "/nest-restream/cameras", permission: "nest-account.write" },
  { method: "POST", path: "/nest-restream/auth/start", permission: "nest-account.write" },
  { method: "GET", path: "/nest-restream/auth/callback", permission: null },
  { method: "GET", path: "/nest-restream/auth/result", permission: "nest-account.write" },
  { method: "POST", path: "/nest-restream/auth/exchange", permission: "nest-account.write" },
  { method: "POST", path: "/nest-restream/youtube-auth/start", permission: "youtube-account.write" },
  { method: "GET", path: "/nest-restream/youtube-auth/callback", permission: null },
  { method: "GET", path: "/nest-restream/youtube-auth/result", permission: "youtube-account.write" },
  { method: "POST", path: "/nest-restream/youtube-auth/exchange", permission: "youtube-account.write" },
];
