/*
 * Editor code of node-red-contrib-nest-restream that several dialogs share: texts from the node's
 * catalog, the admin requests and their errors in words, the status line. Node-RED serves this file at
 * resources/node-red-contrib-nest-restream/editor.js; the .html of every node that uses it loads it, so
 * it may run more than once and only (re)defines functions on window.NestRestreamEditor.
 */
(function () {
  "use strict";
  var ns = (window.NestRestreamEditor = window.NestRestreamEditor || {});

  /** Stored password credentials come to the editor as this placeholder. */
  ns.PLACEHOLDER = "__PWRD__";

  /** The node's message, or the fallback when the catalog has none (the key comes back). */
  function t(node, key, fallback, subs) {
    var text = node && typeof node._ === "function" ? node._(key, subs) : key;
    if (!text || text === key || text.indexOf(key) !== -1) {
      text = fallback;
      if (subs) {
        Object.keys(subs).forEach(function (k) {
          text = text.split("__" + k + "__").join(String(subs[k]));
        });
      }
    }
    return text;
  }

  /**
   * A validator's answer when the value is not valid: the reason from the node's catalog (Node-RED 3 and
   * later show it as the field's tooltip, and in the node's list of problems), or false when the caller
   * asks without options (Node-RED 2 validators).
   */
  function invalid(node, opt, key, subs) {
    return opt ? t(node, key, key, subs) : false;
  }

  /**
   * A text of this package's catalog while a type registers, before any node of it exists (the catalogs
   * load before the node definitions): the field labels that Node-RED puts into "<label>: property value
   * missing" for a required field left empty.
   */
  function catalogLabel(set, key) {
    var full = "node-red-contrib-nest-restream/" + set + ":" + key;
    var text = typeof RED !== "undefined" && RED._ ? RED._(full) : "";
    return text && text !== full && text !== key ? text : key.split(".").pop();
  }

  function postJson(url, body) {
    return $.ajax({
      url: url,
      method: "POST",
      contentType: "application/json",
      data: JSON.stringify(body),
      dataType: "json",
      cache: false,
    });
  }

  /** An admin endpoint's error in words; `type` is the account type whose routes answered (default nest-account). */
  function errorText(node, xhr, type) {
    var body = xhr && xhr.responseJSON;
    if (body && typeof body.error === "string") return body.error;
    type = type || "nest-account";
    if (xhr && (xhr.status === 401 || xhr.status === 403)) {
      return t(
        node,
        type + ".errors.notPermitted",
        "This Node-RED user may not change __type__ nodes (permission __type__.write).",
        { type: type },
      );
    }
    if (!xhr || xhr.status === 0) {
      return t(node, type + ".errors.noAnswer", "No answer from Node-RED: is it still running?");
    }
    return t(node, type + ".errors.http", "Node-RED answered HTTP __status__.", {
      status: xhr.status,
    });
  }

  function inDocument(el) {
    return !!el && !!el[0] && $.contains(document.documentElement, el[0]);
  }

  /** A status line: kind is "info", "busy", "ok" or "error". */
  function showStatus(el, kind, text) {
    var colors = {
      ok: "var(--red-ui-text-color-success, #3a3)",
      error: "var(--red-ui-text-color-error, #ad1625)",
      warning: "var(--red-ui-text-color-warning, #cab200)",
    };
    el.empty()
      .attr("data-kind", kind)
      .css({ color: colors[kind] || "", display: text ? "block" : "none" });
    if (!text) return;
    var icons = {
      ok: "fa-check",
      error: "fa-exclamation-triangle",
      busy: "fa-spinner fa-spin",
      warning: "fa-exclamation-triangle",
    };
    if (icons[kind])
      $("<i>", { class: "fa " + icons[kind] })
        .css("margin-right", "5px")
        .appendTo(el);
    $("<span>").text(text).appendTo(el);
  }

  /** A node's labelStyle: italic when the user named it. */
  function namedLabelStyle() {
    return this.name ? "node_label_italic" : "";
  }

  /** The `account` setting of a dialog of `type`: a config node of `accountType`, labelled from the catalog. */
  function accountSetting(type, accountType, required) {
    var setting = { value: "", type: accountType, label: catalogLabel(type, type + ".label.account") };
    if (required) setting.required = true;
    return setting;
  }

  ns.t = t;
  ns.namedLabelStyle = namedLabelStyle;
  ns.accountSetting = accountSetting;
  ns.invalid = invalid;
  ns.catalogLabel = catalogLabel;
  ns.postJson = postJson;
  ns.errorText = errorText;
  ns.inDocument = inDocument;
  ns.showStatus = showStatus;
})();
