# docker-share.sh -- sourced (`. scripts/docker-share.sh`) by the scripts that may start a
# Docker engine (tests/run.sh, scripts/demo.sh, tests/bench/docker_bench.sh), so that one of
# them never stops an engine (or leaves a swarm) that another one still uses.
#   docker_share_begin         before scripts/dockerd-up.sh: a shared hold on the users' lock,
#                              kept on fd 9 for the life of the script
#   ... children that outlive the script must not inherit fd 9: start them with 9>&-
#   if docker_share_last; then stop what this script started; fi; docker_share_end
#                              docker_share_last drops the hold and succeeds only when no other
#                              script holds one (it then holds the lock alone on fd 8 while the
#                              caller stops the engine, so no one starts using it meanwhile)
FL_DOCKER_USERS=${FL_DOCKER_USERS:-/tmp/faultline-docker-users.lock}
docker_share_begin() {
  command -v flock >/dev/null 2>&1 || return 0
  exec 9>>"$FL_DOCKER_USERS" && flock -s 9
}
docker_share_last() {
  command -v flock >/dev/null 2>&1 || return 0
  exec 9>&-
  exec 8>>"$FL_DOCKER_USERS" && flock -n -x 8
}
docker_share_end() { exec 8>&- 9>&-; }
