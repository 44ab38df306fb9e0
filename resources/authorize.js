/*
 * The Authorize helper of an account dialog: window.NestRestreamEditor.accountDialog(node, options)
 * fills the dialog's .nest-restream-authorize-row. The options name what differs per account type (the
 * defaults are nest-account's): its catalog prefix, the admin routes of nodes/lib/authorize-routes.ts
 * and the credential fields sent to start. It uses editor.js (loaded beside it, in any order: only when
 * a dialog opens).
 */
(function () {
  "use strict";
  var ns = (window.NestRestreamEditor = window.NestRestreamEditor || {});
  var GOOGLE_REDIRECT_URI = "https://www.google.com";
  var MESSAGE_TYPE = "nest-restream-authorize";
  var REDIRECT_KEY = "nest-restream.redirect";
  var POLL_MS = 1500;
  var DEFAULTS = {
    type: "nest-account",
    path: "nest-restream/auth",
    fields: ["projectId", "clientId", "clientSecret"],
    options: ["pubsub"],
  };
  /** How the dialog names a field that must be filled in: the key under `<type>.authorize.`, the fallback. */
  var FIELD_LABELS = {
    projectId: ["fieldProjectId", "Project ID"],
    clientId: ["fieldClientId", "Client ID"],
    clientSecret: ["fieldClientSecret", "Client secret"],
  };

  /** The callback URL of this editor: the redirect URI to register for the callback way. */
  function callbackUrl(path) {
    return (
      location.protocol +
      "//" +
      location.host +
      location.pathname.replace(/[^/]*$/, "") +
      (path || DEFAULTS.path) +
      "/callback"
    );
  }

  /** Google accepts http:// redirect URIs only for localhost. */
  function httpNotLocal() {
    return location.protocol === "http:" && !/^(localhost|127(\.\d+){3}|\[::1\])$/.test(location.hostname);
  }

  /** The authorization under way (one at a time). */
  var authorization = null;
  /**
   * The nonce of each authorization this editor started, by state (kept in this page only): the
   * runtime hands out a refresh token only to the editor session that started the authorization.
   */
  var editorNonces = {};

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.origin !== location.origin || !data || data.type !== MESSAGE_TYPE) return;
    if (authorization && data.state === authorization.state) authorization.pollNow();
  });

  function accountDialog(node, options) {
    var row = $(".nest-restream-authorize-row").empty();
    if (!row.length) return;
    if (authorization) authorization.cancel();
    var o = $.extend({}, DEFAULTS, options);
    var msg = function (key, fallback, subs) {
      return ns.t(node, o.type + ".authorize." + key, fallback, subs);
    };

    $("<label>")
      .append($("<i>", { class: "fa fa-sign-in" }))
      .append(" ")
      .append($("<span>").text(msg("label", "Authorize")))
      .appendTo(row);
    var box = $("<div>", { class: "nest-restream-authorize" })
      .css({ display: "inline-block", width: "70%", verticalAlign: "top" })
      .appendTo(row);

    var select = $("<select>", { id: "node-config-nest-redirect" }).css("width", "100%").appendTo(box);
    $("<option>", { value: "callback" })
      .text(msg("redirectCallback", "Redirect to this editor"))
      .appendTo(select);
    $("<option>", { value: "google" })
      .text(msg("redirectGoogle", "Redirect to https://www.google.com, then paste the address back"))
      .appendTo(select);

    var register = $("<div>", { class: "form-tips", id: "node-config-nest-redirect-tip" })
      .css({ marginTop: "6px", overflowWrap: "anywhere" })
      .appendTo(box);

    var buttons = $("<div>").css("margin-top", "6px").appendTo(box);
    var authorize = $("<button>", {
      type: "button",
      class: "red-ui-button",
      id: "node-config-nest-authorize",
    })
      .append($("<i>", { class: "fa fa-google" }))
      .append(" ")
      .append($("<span>").text(msg("button", "Authorize")))
      .appendTo(buttons);
    var link = $("<a>", { id: "node-config-nest-authorize-link", target: "_blank" })
      .css({ marginLeft: "10px", display: "none" })
      .text(msg("openPage", "Open Google's page"))
      .appendTo(buttons);

    var pasteRow = $("<div>", { id: "node-config-nest-paste-row" })
      .css({ marginTop: "6px", display: "none" })
      .appendTo(box);
    var pasteHint = $("<div>").css("margin-bottom", "3px").appendTo(pasteRow);
    var paste = $("<input>", {
      type: "text",
      id: "node-config-nest-paste",
      placeholder: msg("pastePlaceholder", "https://www.google.com/?state=…&code=…"),
    })
      .attr("autocomplete", "off")
      .css({ width: "calc(100% - 110px)" })
      .appendTo(pasteRow);
    var pasteGo = $("<button>", { type: "button", class: "red-ui-button", id: "node-config-nest-paste-go" })
      .css("margin-left", "6px")
      .text(msg("pasteButton", "Get token"))
      .appendTo(pasteRow);

    var status = $("<div>", { id: "node-config-nest-auth-status", role: "status" })
      .css({ marginTop: "6px", display: "none", overflowWrap: "anywhere" })
      .appendTo(box);

    var saved = null;
    try {
      saved = localStorage.getItem(REDIRECT_KEY);
    } catch (e) {
      saved = null;
    }
    select.val(saved === "google" ? "google" : "callback");

    function redirectUri() {
      return select.val() === "google" ? GOOGLE_REDIRECT_URI : callbackUrl(o.path);
    }

    function showRegister() {
      register.empty();
      $("<span>")
        .text(msg("register", "Authorized redirect URI to add to the OAuth client:") + " ")
        .appendTo(register);
      $("<code>", { id: "node-config-nest-redirect-uri" })
        .css({ whiteSpace: "normal", wordBreak: "break-all" })
        .text(redirectUri())
        .appendTo(register);
      if (RED.clipboard && typeof RED.clipboard.copyText === "function") {
        var copy = $("<button>", { type: "button", class: "red-ui-button red-ui-button-small" })
          .css("margin-left", "5px")
          .attr("title", msg("copy", "Copy"))
          .append($("<i>", { class: "fa fa-copy" }))
          .appendTo(register);
        copy.on("click", function (e) {
          e.preventDefault();
          RED.clipboard.copyText(redirectUri(), copy, msg("copied", "Redirect URI copied"));
        });
      }
      if (select.val() === "callback" && httpNotLocal()) {
        $("<div>")
          .css({ marginTop: "4px", color: "var(--red-ui-text-color-warning, #cab200)" })
          .text(
            msg(
              "httpWarning",
              "Google accepts http:// redirect URIs only for localhost: open this editor over https, or redirect to https://www.google.com.",
            ),
          )
          .appendTo(register);
      }
      var google = select.val() === "google";
      pasteHint.text(
        google
          ? msg(
              "pasteHintGoogle",
              "After allowing access, Google opens www.google.com: copy the whole address from the address bar and paste it here.",
            )
          : msg(
              "pasteHintCallback",
              "If the window does not come back by itself, paste the address it ended on here:",
            ),
      );
      pasteRow.toggle(google || !!(authorization && authorization.row === row));
    }

    select.on("change", function () {
      try {
        localStorage.setItem(REDIRECT_KEY, select.val());
      } catch (e) {
        /* private mode: not remembered */
      }
      showRegister();
    });
    showRegister();

    function fields() {
      var f = { id: node.id };
      o.fields.forEach(function (name) {
        f[name] = ($("#node-config-input-" + name).val() || "").trim();
      });
      // Options of the dialog (checkboxes) that change what is asked for, such as nest-account's pubsub.
      (o.options || []).forEach(function (name) {
        f[name] = $("#node-config-input-" + name).is(":checked");
      });
      return f;
    }

    /** The dialog's own save button: Add for a new account, Update for one that exists. */
    function saveButton() {
      var text = ($("#node-config-dialog-ok").text() || "").trim();
      return text || RED._(RED.nodes.node(node.id) ? "editor.configUpdate" : "editor.configAdd");
    }

    function gotToken(token) {
      if (authorization) authorization.cancel();
      $("#node-config-input-refreshToken").val(token).trigger("change");
      paste.val("");
      link.hide();
      if (select.val() !== "google") pasteRow.hide();
      var done = msg("done", "Authorized: the refresh token is filled in. Press __button__, then Deploy.", {
        button: saveButton(),
      });
      ns.showStatus(status, "ok", done);
      RED.notify(done, { type: "success", timeout: 6000 });
    }

    function failed(text) {
      ns.showStatus(status, "error", text);
    }

    /** The "fill in … first" text for the fields still empty, or "" when all are filled. */
    function missingText() {
      var f = fields();
      var missing = o.fields
        .filter(function (name) {
          return !f[name];
        })
        .map(function (name) {
          var label = FIELD_LABELS[name] || [name, name];
          return msg(label[0], label[1]);
        });
      return missing.length
        ? msg("missing", "To authorize, fill in the __fields__ first.", { fields: missing.join(", ") })
        : "";
    }
    /** The "fill in … first" text on show, while nothing else replaced it. */
    var shownMissing = "";

    // As the fields are filled, the "fill in … first" message names only those still empty, and goes.
    o.fields.forEach(function (name) {
      $("#node-config-input-" + name).on("input change", function () {
        if (!shownMissing || status.attr("data-kind") !== "error" || status.text() !== shownMissing) {
          shownMissing = "";
          return;
        }
        shownMissing = missingText();
        if (shownMissing) failed(shownMissing);
        else ns.showStatus(status, "info", "");
      });
    });

    authorize.on("click", function (e) {
      e.preventDefault();
      var f = fields();
      shownMissing = missingText();
      if (shownMissing) {
        failed(shownMissing);
        return;
      }
      if (authorization) authorization.cancel();
      var uri = redirectUri();
      var mode = select.val();
      // Opened now, in the click, so that no popup blocker stops it; pointed at Google below.
      var popup = null;
      try {
        popup = window.open("", "nest-restream-authorize", "popup,width=620,height=760");
      } catch (err) {
        popup = null;
      }
      ns.showStatus(status, "busy", msg("opening", "Opening Google's authorization page…"));
      link.hide();
      ns.postJson(o.path + "/start", $.extend(f, { redirectUri: uri }))
        .done(function (res) {
          var auth = startAuthorization(row, res, mode, o.path, gotToken, failed, msg);
          link.attr("href", res.url).show();
          var opened = !!popup && !popup.closed;
          if (opened) popup.location.href = res.url;
          var blocked = opened
            ? ""
            : msg(
                "blocked",
                "The browser blocked the new window: use the link next to the Authorize button.",
              ) + " ";
          if (mode === "google") {
            ns.showStatus(
              status,
              opened ? "info" : "warning",
              blocked +
                msg(
                  "waitingGoogle",
                  "Sign in at Google, pick the cameras and allow access. Then copy the address of the www.google.com page you land on and paste it below.",
                ),
            );
            paste.trigger("focus");
          } else {
            ns.showStatus(
              status,
              opened ? "busy" : "warning",
              blocked +
                msg(
                  "waitingCallback",
                  "Waiting for Google: sign in, pick the cameras and allow access in the new window…",
                ),
            );
            auth.poll();
          }
          showRegister();
        })
        .fail(function (xhr) {
          if (popup && !popup.closed) popup.close();
          failed(ns.errorText(node, xhr, o.type));
        });
    });

    function exchangePasted() {
      var url = (paste.val() || "").trim();
      if (!url) {
        failed(msg("pasteEmpty", "Paste the address Google redirected to first."));
        return;
      }
      ns.showStatus(status, "busy", msg("exchanging", "Getting the refresh token…"));
      // The nonce this editor got when it started that authorization: a state alone is refused.
      var pastedState = /[?&#]state=([A-Za-z0-9_-]+)/.exec(url);
      var nonce = pastedState ? editorNonces[pastedState[1]] : undefined;
      ns.postJson(o.path + "/exchange", { url: url, nonce: nonce })
        .done(function (res) {
          gotToken(res.refreshToken);
        })
        .fail(function (xhr) {
          failed(ns.errorText(node, xhr, o.type));
        });
    }
    pasteGo.on("click", function (e) {
      e.preventDefault();
      exchangePasted();
    });
    paste.on("keydown", function (e) {
      if (e.key === "Enter") {
        e.preventDefault();
        exchangePasted();
      }
    });
    paste.on("paste", function () {
      setTimeout(function () {
        if (/[?&#]code=|[?&#]error=/.test(paste.val() || "")) exchangePasted();
      }, 0);
    });
  }

  /** One authorization under way: collects its outcome (callback way) until done, expired or the dialog closed. */
  function startAuthorization(row, res, mode, path, onToken, onError, msg) {
    var timer = null;
    var inflight = false;
    var finished = false;
    var until = Date.parse(res.expiresAt) + 60000 || Date.now() + 11 * 60000;
    if (res.state && res.nonce) editorNonces[res.state] = res.nonce;
    var auth = {
      state: res.state,
      row: row,
      cancel: function () {
        finished = true;
        clearTimeout(timer);
        if (authorization === auth) authorization = null;
      },
      poll: function () {
        if (mode !== "google") schedule();
      },
      pollNow: function () {
        clearTimeout(timer);
        check();
      },
    };
    function schedule() {
      clearTimeout(timer);
      if (!finished) timer = setTimeout(check, POLL_MS);
    }
    function check() {
      if (finished || inflight) return;
      // The dialog was closed: stop asking.
      if (!ns.inDocument(row) || Date.now() > until) {
        if (Date.now() > until && ns.inDocument(row))
          onError(msg("expired", "The authorization expired: press Authorize again."));
        auth.cancel();
        return;
      }
      inflight = true;
      $.ajax({
        url: path + "/result",
        data: { state: auth.state, nonce: res.nonce },
        dataType: "json",
        cache: false,
      })
        .done(function (r) {
          if (finished) return;
          if (r.status === "pending") return;
          auth.cancel();
          if (r.ok) onToken(r.refreshToken);
          else onError(r.error);
        })
        .fail(function (xhr) {
          if (finished) return;
          // A network blip is retried; an answer in words ends it.
          if (xhr.responseJSON && xhr.responseJSON.error) {
            auth.cancel();
            onError(xhr.responseJSON.error);
          }
        })
        .always(function () {
          inflight = false;
          schedule();
        });
    }
    authorization = auth;
    return auth;
  }

  ns.accountDialog = accountDialog;
  ns.callbackUrl = callbackUrl;
})();
