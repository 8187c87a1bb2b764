#!/bin/sh
# drill.sh -- the weekly disaster-recovery drill: run the residency-scheduler experiments one
# after another against a running stack, keep every report, roll back what a failed revert
# left, and exit with the worst exit code (0 held, 1 failed, 2 invalid, 3 aborted, 4 a
# revert failed, 5 inconclusive: a check had no evidence). Run by cron (docs/ci/crontab), a systemd timer
# (docs/ci/faultline-drill.{service,timer}) or a scheduled GitHub workflow (weekly-drill.yml).
#
#   FAULTLINE_PLANS=/opt/faultline/plans/residency-scheduler \
#   FAULTLINE_REPORTS=/var/lib/faultline-drill sh drill.sh [plan ...]
# Plans default to the weekly set below; the environment holds API_URL and the passwords
# (systemd: EnvironmentFile=/etc/faultline/drill.env, see drill.env.example).
set -u
faultline=${FAULTLINE:-faultline}
plans_dir=${FAULTLINE_PLANS:-/opt/faultline/plans/residency-scheduler}
reports=${FAULTLINE_REPORTS:-/var/lib/faultline-drill}
export FAULTLINE_JOURNAL=${FAULTLINE_JOURNAL:-$reports/journal.jsonl}
[ $# -gt 0 ] || set -- db-outage redis-outage celery-worker-kill backend-n-1 acgme-accuracy
stamp=$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$reports/$stamp"

# a drill never starts on top of an earlier one that left something broken
if ! "$faultline" rollback >/dev/null 2>&1; then
  echo "drill: the journal still names unreverted faults; run 'faultline rollback' by hand" >&2
  exit 4
fi

worst=0
for name in "$@"; do
  "$faultline" validate "$plans_dir/$name.yaml" || { worst=2; continue; }
  "$faultline" run "$plans_dir/$name.yaml" -o "$reports/$stamp/$name" --timeout 30m -q
  rc=$?
  echo "drill: $name: exit $rc (report: $reports/$stamp/$name/)"
  if [ $rc -eq 4 ]; then "$faultline" rollback || true; fi
  # worst: 4 > 3 > 1 > 2 > 5 > 0 (a revert failure matters most; then a finding; a run
  # that proved nothing is never a pass)
  case "$rc:$worst" in
    4:*) worst=4 ;;
    3:[0-25]) worst=3 ;;
    1:[025]) worst=1 ;;
    2:[05]) worst=2 ;;
    5:0) worst=5 ;;
  esac
  [ $rc -ne 3 ] && [ $rc -ne 4 ] || break   # aborted or left broken: stop the drill here
done
ln -sfn "$stamp" "$reports/latest"
echo "drill: done, exit $worst; reports in $reports/$stamp/"
exit $worst
