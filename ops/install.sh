#!/bin/sh
# Installs the service files of ops/ with the path of the installed CLI rendered in, creates the
# user and directories they name, and says what to enable. Run as root after installing the
# package (npm install --global ./movies-0.1.0.tgz).
#
#   ops/install.sh [--cron] [--bin PATH] [--root DIR]
#
# Default: the systemd units and timers into /etc/systemd/system. --cron: /etc/cron.d/movies
# instead (one scheduler at a time, or every run happens twice). Both: /etc/sysusers.d/movies.conf
# and /etc/tmpfiles.d/movies.conf, applied at once (the user movies, /etc/movies, the empty
# /etc/movies/env, /var/log/movies).
# --bin: the CLI (default: `command -v movies`; `npm prefix -g`/bin/movies, /usr/bin/movies where
# Node.js comes from Debian). --root: write the files under DIR and change nothing else (for
# packaging, and for the tests).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=''
dest=/
cron=0
die() {
  echo "ops/install.sh: $*" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case $1 in
    --bin) [ $# -ge 2 ] || die "--bin needs a path"; bin=$2; shift 2 ;;
    --root) [ $# -ge 2 ] || die "--root needs a directory"; dest=$2; shift 2 ;;
    --cron) cron=1; shift ;;
    -h | --help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

if [ -z "$bin" ]; then
  bin=$(command -v movies) || die "movies is not on PATH: install the package first (npm install --global ./movies-0.1.0.tgz), or pass --bin"
fi
case $bin in
  /*) ;;
  *) die "--bin must be an absolute path (got $bin)" ;;
esac
# Unit files and cron lines split on white space; sed below takes the rest literally.
case $bin in
  *[[:space:]\\\|\&]*) die "the path $bin has white space or one of \\ | &: link it from a plain path and pass that" ;;
esac
[ -x "$bin" ] && [ -f "$bin" ] || die "$bin is not an executable file"

# The shipped files name /usr/bin/movies; this is the one place that changes it.
render() { # render SOURCE TARGET
  mkdir -p "$(dirname "$2")"
  sed "s|/usr/bin/movies|$bin|g" "$1" >"$2.tmp"
  chmod 0644 "$2.tmp"
  mv "$2.tmp" "$2"
  echo "wrote $2"
}

root=${dest%/}
render "$here/systemd/movies.sysusers.conf" "$root/etc/sysusers.d/movies.conf"
render "$here/systemd/movies.tmpfiles.conf" "$root/etc/tmpfiles.d/movies.conf"
if [ "$cron" = 1 ]; then
  render "$here/cron/movies" "$root/etc/cron.d/movies"
else
  for f in "$here"/systemd/*.service "$here"/systemd/*.timer; do
    render "$f" "$root/etc/systemd/system/$(basename "$f")"
  done
fi

if [ -n "$root" ]; then
  echo "files written under $dest; nothing else changed"
  exit 0
fi

# The user and the directories, the systemd way where there is one.
if command -v systemd-sysusers >/dev/null; then
  systemd-sysusers /etc/sysusers.d/movies.conf
  systemd-tmpfiles --create /etc/tmpfiles.d/movies.conf
else
  id movies >/dev/null 2>&1 || useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin movies
  install -d -m 0750 -o root -g movies /etc/movies
  [ -e /etc/movies/env ] || install -m 0640 -o root -g movies /dev/null /etc/movies/env
  install -d -m 0750 -o movies -g movies /var/log/movies
fi
[ "$cron" = 1 ] || [ ! -d /run/systemd/system ] || systemctl daemon-reload

cat <<EOF

Next: put DATABASE_URL, ELASTICSEARCH_URL and any credentials in /etc/movies/env, then
EOF
if [ "$cron" = 1 ]; then
  echo "  nothing more: cron reads /etc/cron.d/movies by itself (its output is mailed to root)."
else
  cat <<EOF
  systemctl enable --now movies-watch.service                     # continuously, or
  systemctl enable --now movies-etl.timer                         # a one-shot run every 5 minutes
  systemctl enable --now movies-status.timer movies-verify.timer  # health every 15 min, verify nightly
EOF
fi
