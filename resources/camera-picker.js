/*
 * The camera picker of the nest-stream dialog: window.NestRestreamEditor.cameraPicker(node) fills the
 * dialog's .nest-restream-camera-picker. It uses editor.js (loaded beside it, in any order: only when a
 * dialog opens).
 */
(function () {
  "use strict";
  var ns = (window.NestRestreamEditor = window.NestRestreamEditor || {});

  /** Whether the account must be listed with its typed credentials rather than as deployed. */
  function undeployed(account) {
    return !!account.changed;
  }

  function typedAccount(account) {
    var body = { id: account.id, projectId: account.projectId || "" };
    var creds = account.credentials || {};
    var defs = (account._def && account._def.credentials) || {
      clientId: {},
      clientSecret: {},
      refreshToken: {},
    };
    Object.keys(defs).forEach(function (name) {
      var v = creds[name];
      // Absent (never loaded, or a password not changed): the runtime takes the stored one.
      body[name] =
        typeof v === "string" && v !== "" ? v : creds["has_" + name] === false ? "" : ns.PLACEHOLDER;
    });
    return body;
  }

  function protocolLabel(protocols) {
    return (protocols || [])
      .map(function (p) {
        return p === "WEB_RTC" ? "WebRTC" : p;
      })
      .join(", ");
  }

  function cameraPicker(node) {
    var row = $(".nest-restream-camera-picker").empty();
    if (!row.length) return;
    var msg = function (key, fallback, subs) {
      return ns.t(node, "nest-stream.picker." + key, fallback, subs);
    };
    $("<label>").html("&nbsp;").appendTo(row);
    var box = $("<div>", { class: "nest-restream-picker" })
      .css({ display: "inline-block", width: "70%", verticalAlign: "top" })
      .appendTo(row);
    var button = $("<button>", {
      type: "button",
      class: "red-ui-button",
      id: "node-input-nest-list-cameras",
    })
      .append($("<i>", { class: "fa fa-video-camera" }))
      .append(" ")
      .append($("<span>").text(msg("button", "Pick a camera")))
      .appendTo(box);
    var status = $("<div>", { id: "node-input-nest-cameras-status", role: "status" })
      .css({ marginTop: "6px", display: "none", overflowWrap: "anywhere" })
      .appendTo(box);
    var list = $("<div>", { id: "node-input-nest-camera-list", role: "listbox" })
      .css({
        marginTop: "6px",
        display: "none",
        maxHeight: "240px",
        overflowY: "auto",
        border: "1px solid var(--red-ui-secondary-border-color, #ddd)",
        borderRadius: "2px",
      })
      .appendTo(box);

    // The chosen camera's name (cameraName, labels the node) and the device id it belongs to.
    var nameInput = $("#node-input-cameraName");
    var known = {};
    nameInput.attr("data-device", nameInput.val() ? selectedId() : "");
    if (nameInput.val() && selectedId()) {
      ns.showStatus(status, "ok", msg("chosen", "Camera: __name__", { name: nameInput.val() }));
    }

    /** Keeps cameraName with the device id: the picked camera's name, or none for an unknown id. */
    function followName() {
      var id = selectedId();
      if (id && id === nameInput.attr("data-device")) return;
      var name = (id && known[id]) || "";
      nameInput.val(name).attr("data-device", name ? id : "");
    }

    function selectedId() {
      return String($("#node-input-deviceId").val() || "")
        .split("/")
        .pop();
    }

    function render(cameras) {
      list.empty();
      if (!cameras.length) {
        list.hide();
        ns.showStatus(
          status,
          "warning",
          msg(
            "none",
            "This account shares no camera. Authorize the account again and pick the cameras on Google's page.",
          ),
        );
        return;
      }
      ns.showStatus(status, "info", msg("choose", "Choose a camera:"));
      cameras.forEach(function (cam) {
        if (cam.displayName) known[cam.id] = cam.displayName;
        var item = $("<a>", { href: "#", class: "nest-restream-camera", role: "option", "data-id": cam.id })
          .css({
            display: "block",
            padding: "5px 8px",
            borderBottom: "1px solid var(--red-ui-secondary-border-color, #ddd)",
          })
          .appendTo(list);
        $("<div>", { class: "nest-restream-camera-name" })
          .css("font-weight", "bold")
          .text(cam.displayName || cam.id)
          .appendTo(item);
        var details = [];
        if (cam.room && cam.room !== cam.displayName) details.push(cam.room);
        var protocol = protocolLabel(cam.protocols);
        if (protocol) details.push(protocol);
        if (cam.resolution && cam.resolution.width)
          details.push(cam.resolution.width + "×" + cam.resolution.height);
        $("<div>", { class: "nest-restream-camera-details" })
          .css({ fontSize: "0.9em", color: "var(--red-ui-secondary-text-color, #888)" })
          .text(details.join(" · "))
          .appendTo(item);
        if ((cam.protocols || []).indexOf("RTSP") === -1) {
          $("<div>")
            .css({
              fontSize: "0.9em",
              fontStyle: "italic",
              color: "var(--red-ui-secondary-text-color, #888)",
            })
            .text(msg("webrtcOnly", "WebRTC only: served through this node's local rtsp:// URL."))
            .appendTo(item);
        }
        item.on("click", function (e) {
          e.preventDefault();
          nameInput.val(cam.displayName || "").attr("data-device", cam.displayName ? cam.id : "");
          $("#node-input-deviceId").val(cam.id).trigger("change");
          mark();
          ns.showStatus(status, "ok", msg("chosen", "Camera: __name__", { name: cam.displayName || cam.id }));
        });
      });
      list.show();
      mark();
    }

    function mark() {
      var id = selectedId();
      list.find(".nest-restream-camera").each(function () {
        var on = $(this).attr("data-id") === id;
        $(this)
          .attr("aria-selected", on ? "true" : "false")
          .css("background", on ? "var(--red-ui-list-item-background-selected, #ffebc7)" : "");
      });
    }

    $("#node-input-deviceId").on("change keyup input", function () {
      followName();
      mark();
    });

    button.on("click", function (e) {
      e.preventDefault();
      var accountId = $("#node-input-account").val();
      var account = accountId && accountId !== "_ADD_" ? RED.nodes.node(accountId) : null;
      if (!account) {
        list.hide();
        ns.showStatus(status, "error", msg("noAccount", "Choose or add a Nest account first."));
        return;
      }
      ns.showStatus(status, "busy", msg("loading", "Asking Google for the cameras…"));
      button.prop("disabled", true);
      var viaTyped = function () {
        return ns.postJson("nest-restream/cameras", typedAccount(account));
      };
      var request = undeployed(account)
        ? viaTyped()
        : $.ajax({
            url: "nest-restream/accounts/" + encodeURIComponent(account.id) + "/cameras",
            dataType: "json",
            cache: false,
          }).then(null, function (xhr) {
            // Not deployed yet: list with the credentials the editor holds.
            return xhr.status === 404 ? viaTyped() : xhr;
          });
      request
        .done(function (res) {
          render((res && res.cameras) || []);
        })
        .fail(function (xhr) {
          list.hide();
          ns.showStatus(status, "error", ns.errorText(node, xhr));
        })
        .always(function () {
          button.prop("disabled", false);
        });
    });
  }

  ns.cameraPicker = cameraPicker;
})();
