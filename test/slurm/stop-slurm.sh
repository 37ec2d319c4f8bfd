#!/usr/bin/env bash
# Stop what start-slurm.sh started: slurmctld and slurmd (scontrol shutdown), then munged.
set -uo pipefail
export PATH="$PATH:/usr/sbin"
scontrol shutdown >/dev/null 2>&1
for _ in $(seq 50); do pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break; sleep 0.1; done
if [ -f /run/munge/munged.pid ]; then
  pid=$(cat /run/munge/munged.pid)
  kill "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
fi
exit 0
