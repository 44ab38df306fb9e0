#!/usr/bin/env bash
# `npm run test:setup`: installs the system packages the end-to-end and browser tests use, on
# Debian 12 (bookworm) or a close relative, with Node 20 already there:
#   ffmpeg/ffprobe            the restream itself, probes of what arrived, and the SRT listener and
#                             RTSP RECORD server the target tests publish into (Debian's ffmpeg has libsrt)
#   nginx + libnginx-mod-rtmp the RTMP ingest standing in for YouTube (run by the tests, never as a service)
#   GStreamer RTSP server     the RTSP source standing in for a Nest camera (python3-gi + plugins)
#   openssl                   the self-signed certificate of the rtsps:// edge
#   chromium                  editor tests (driven by playwright-core)
#   procps                    ps/pgrep for process checks
# Run as root, or as a user with sudo. Idempotent: skips apt when everything is installed.
set -euo pipefail

PACKAGES=(
  ffmpeg
  nginx
  libnginx-mod-rtmp
  python3-gi
  gir1.2-gst-rtsp-server-1.0
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly
  gstreamer1.0-libav
  gstreamer1.0-tools
  openssl
  ca-certificates
  chromium
  fonts-dejavu-core
  procps
  util-linux
)

say() { printf 'test:setup: %s\n' "$*"; }
die() {
  printf 'test:setup: error: %s\n' "$*" >&2
  exit 1
}

if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  die "this script needs a Debian-like system with apt-get and dpkg. Install by other means: ${PACKAGES[*]}"
fi

installed() {
  local status
  status="$(dpkg -s "$1" 2>/dev/null)" || return 1
  grep -q '^Status: install ok installed' <<<"$status"
}

missing=()
for p in "${PACKAGES[@]}"; do
  installed "$p" || missing+=("$p")
done

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  elif [ "${#missing[@]}" -gt 0 ]; then
    die "not root and no sudo: run as root to install: ${missing[*]}"
  fi
fi

# Stops the distribution's nginx service (the package starts it on port 80) and keeps it from
# starting at boot. The tests run their own nginx in the foreground with a generated config.
stop_system_nginx() {
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    "${SUDO[@]}" systemctl stop nginx.service >/dev/null 2>&1 || true
    "${SUDO[@]}" systemctl disable nginx.service >/dev/null 2>&1 || true
  else
    if command -v service >/dev/null 2>&1; then
      "${SUDO[@]}" service nginx stop >/dev/null 2>&1 || true
    elif [ -x /etc/init.d/nginx ]; then
      "${SUDO[@]}" /etc/init.d/nginx stop >/dev/null 2>&1 || true
    fi
    if command -v update-rc.d >/dev/null 2>&1; then
      "${SUDO[@]}" update-rc.d nginx disable >/dev/null 2>&1 || true
    fi
  fi
  # Whatever the init system: a master still listed in the default pid file gets a graceful quit.
  local pidfile pid
  for pidfile in /run/nginx.pid /var/run/nginx.pid; do
    [ -s "$pidfile" ] || continue
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    case "$pid" in '' | *[!0-9]*) continue ;; esac
    if kill -0 "$pid" 2>/dev/null || "${SUDO[@]}" kill -0 "$pid" 2>/dev/null; then
      say "stopping the system nginx (pid $pid)"
      "${SUDO[@]}" kill -QUIT "$pid" 2>/dev/null || true
      for _ in 1 2 3 4 5 6 7 8 9 10; do
        "${SUDO[@]}" kill -0 "$pid" 2>/dev/null || break
        sleep 0.3
      done
      "${SUDO[@]}" kill -TERM "$pid" 2>/dev/null || true
    fi
  done
}

if [ "${#missing[@]}" -eq 0 ]; then
  say "all system packages are installed"
else
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Keep package scripts from starting services (nginx) while we install: the standard
  # policy-rc.d switch, only if none is in place already, removed afterwards.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod 755 "$policy"
    own_policy=1
  fi
  cleanup_policy() {
    if [ "$own_policy" -eq 1 ]; then "${SUDO[@]}" rm -f "$policy"; fi
  }
  trap cleanup_policy EXIT
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  cleanup_policy
  own_policy=0
  trap - EXIT
  for p in "${missing[@]}"; do
    if [ "$p" = nginx ] || [ "$p" = libnginx-mod-rtmp ]; then
      stop_system_nginx
      break
    fi
  done
fi

# Check that what the tests use works, not only that packages are there.
problems=()
for cmd in ffmpeg ffprobe nginx openssl gst-inspect-1.0 ps; do
  command -v "$cmd" >/dev/null 2>&1 || problems+=("command $cmd not found")
done
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || problems+=("chromium not found")
[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || problems+=("nginx RTMP module missing (/usr/lib/nginx/modules/ngx_rtmp_module.so)")
[ -x /usr/bin/python3 ] || problems+=("/usr/bin/python3 missing")
if [ -x /usr/bin/python3 ]; then
  # The system python (not a pyenv/venv one on PATH) has the GObject bindings.
  env -u PYTHONPATH -u PYTHONHOME /usr/bin/python3 -c \
    "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer" \
    >/dev/null 2>&1 || problems+=("python3-gi cannot load GstRtspServer")
fi
if command -v gst-inspect-1.0 >/dev/null 2>&1; then
  for el in videotestsrc audiotestsrc x264enc rtph264pay rtpmp4gpay opusenc rtpopuspay aacparse; do
    gst-inspect-1.0 "$el" >/dev/null 2>&1 || problems+=("GStreamer element $el missing")
  done
  gst-inspect-1.0 avenc_aac >/dev/null 2>&1 || gst-inspect-1.0 voaacenc >/dev/null 2>&1 ||
    problems+=("no GStreamer AAC encoder (avenc_aac or voaacenc)")
fi

if [ "${#problems[@]}" -gt 0 ]; then
  for p in "${problems[@]}"; do printf 'test:setup: missing: %s\n' "$p" >&2; done
  die "some test dependencies are not usable"
fi
say "ready: ffmpeg $(ffmpeg -version 2>/dev/null | awk 'NR==1{print $3}'), $(nginx -v 2>&1 | sed 's/^nginx version: //'), GStreamer $(gst-inspect-1.0 --version 2>/dev/null | awk 'NR==2{print $2}')"
