#!/bin/sh
# Runs `movies status` and writes its exit code, and when it ran, for node_exporter's textfile
# collector (node_exporter --collector.textfile.directory=DIR); movies.rules.yml's movies-cron
# group alerts on them. A cron line, every 5 minutes:
#
#   */5 * * * * movies /usr/local/lib/movies/movies-status-textfile.sh
#
# Environment: MOVIES_TEXTFILE_DIR (default /var/lib/prometheus/node-exporter), MOVIES_STATUS_NAME
# (the `name` label and file name, default movies: one per catalogue watched), MOVIES_BIN (default
# movies), and movies' own variables (DATABASE_URL, ELASTICSEARCH_URL, …). Arguments are passed
# to `movies status`. The report goes to stdout/stderr as usual (cron mails or logs it); the
# wrapper exits with status's code.
set -u
dir=${MOVIES_TEXTFILE_DIR:-/var/lib/prometheus/node-exporter}
name=${MOVIES_STATUS_NAME:-movies}
${MOVIES_BIN:-movies} status "$@"
code=$?
# Written aside, then renamed: the collector never reads half a file.
tmp="$dir/.movies_status_$name.prom.$$"
{
  echo '# HELP movies_status_exit_code Exit code of the last `movies status` (0: everything in step)'
  echo '# TYPE movies_status_exit_code gauge'
  echo "movies_status_exit_code{name=\"$name\"} $code"
  echo '# HELP movies_status_last_run_timestamp_seconds When `movies status` last ran (Unix time)'
  echo '# TYPE movies_status_last_run_timestamp_seconds gauge'
  echo "movies_status_last_run_timestamp_seconds{name=\"$name\"} $(date +%s)"
} >"$tmp" && mv "$tmp" "$dir/movies_status_$name.prom" || { rm -f "$tmp"; echo "movies-status-textfile: cannot write $dir/movies_status_$name.prom" >&2; }
exit $code
