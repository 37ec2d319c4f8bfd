#!/usr/bin/env bash
# Start a single-node Slurm on localhost for the tests (no systemd, as root): munged, slurmctld and
# slurmd with a minimal slurm.conf. Idempotent: a Slurm that already answers with an idle node is
# left alone. Prints "started" when it started the daemons, "running" when they were up already.
# Exit 3: Slurm cannot run here (not root, or slurm-wlm/munge not installed).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "start-slurm: needs root" >&2; exit 3; }
for b in slurmctld slurmd munged sbatch sinfo scontrol munge; do
  command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || { echo "start-slurm: $b not found (apt-get install slurm-wlm munge)" >&2; exit 3; }
done
export PATH="$PATH:/usr/sbin"
host=$(hostname -s)
# sinfo waits ~10 s for a controller that is not there: ask only when slurmctld runs
node_idle() {
  pgrep -x slurmctld >/dev/null || return 1
  case "$(sinfo -h -N -o %T 2>/dev/null | head -n1)" in idle | mixed) return 0 ;; *) return 1 ;; esac
}
if node_idle; then echo running; exit 0; fi

getent hosts "$host" >/dev/null || echo "127.0.0.1 $host" >> /etc/hosts
mkdir -p /run/munge /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /etc/slurm
chown munge:munge /run/munge
if [ ! -f /etc/munge/munge.key ]; then
  mungekey --create
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
fi
if ! (munge -n 2>/dev/null | unmunge >/dev/null 2>&1); then
  pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged </dev/null >/dev/null 2>&1
  for _ in $(seq 50); do (munge -n 2>/dev/null | unmunge >/dev/null 2>&1) && break; sleep 0.1; done
fi

conf=/etc/slurm/slurm.conf
marker="# written by dtca test/slurm/start-slurm.sh"
if [ ! -f "$conf" ] || grep -qF "$marker" "$conf"; then
  cat > "$conf" <<CONF
$marker
ClusterName=dtca-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
fi
# each daemon as its own background command (no subshell left holding this script's stdout)
if ! pgrep -x slurmctld >/dev/null; then setsid /usr/sbin/slurmctld -D >/var/log/slurm/slurmctld.out 2>&1 </dev/null & fi
if ! pgrep -x slurmd >/dev/null; then setsid /usr/sbin/slurmd -D >/var/log/slurm/slurmd.out 2>&1 </dev/null & fi
for _ in $(seq 150); do
  if node_idle; then echo started; exit 0; fi
  sleep 0.2
done
echo "start-slurm: the node did not come up idle in 30 s; sinfo says: $(sinfo -h -N -o '%N %T' 2>&1)" >&2
tail -n 5 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
