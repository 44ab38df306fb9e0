// Preload for `node-red-dev validate` on a machine without internet: its catalogue look-up
// (catalogue.nodered.org) is answered with an empty catalogue so that every other check still runs.
//   npx -p node-red-dev -c 'NODE_OPTIONS="--require ./scripts/node-red-dev-offline.js" node-red-dev validate -p .'
"use strict";
const Module = require("node:module");
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const exported = load.call(this, request, parent, isMain);
  if (request === "axios" && !exported.__catalogueOffline) {
    const get = exported.get.bind(exported);
    exported.get = (url, ...rest) =>
      String(url).includes("catalogue.nodered.org")
        ? Promise.resolve({ status: 200, data: { modules: [] } })
        : get(url, ...rest);
    exported.__catalogueOffline = true;
  }
  return exported;
};
