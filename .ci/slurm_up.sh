#!/usr/bin/env bash
# Start a single-node Slurm on this machine for the dask-jobqueue integration test.
# Idempotent: safe to run again while it is up. Installs nothing (.ci/run installs slurm-wlm and
# munge); needs root. Exits 0 once `sinfo` shows the node idle, non-zero otherwise.
set -euo pipefail

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "slurm_up: slurmctld/munged not installed (apt-get install slurm-wlm munge)" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "slurm_up: must run as root" >&2
  exit 1
fi

node="$(hostname -s)"
conf_dir=/etc/slurm
[ -d /etc/slurm-llnl ] && [ ! -d /etc/slurm ] && conf_dir=/etc/slurm-llnl
mkdir -p "$conf_dir" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge

idle() { timeout 10 sinfo -h -o '%T' 2>/dev/null | grep -qE '^idle'; }

if idle; then
  echo "slurm_up: already up ($node idle)"
  exit 0
fi

# One node with two CPUs and a `debug` partition (pattern of ../shared/slurm/slurm.conf.example).
cat > "$conf_dir/slurm.conf" <<CONF
ClusterName=twinlocal
SlurmctldHost=${node}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=${node} CPUs=$(nproc) RealMemory=$(( $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) * 8 / 10 )) State=UNKNOWN
PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP
CONF

# munge: create a key if there is none; --force because as root it refuses its log dir otherwise.
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  if command -v mungekey >/dev/null; then mungekey --create --force >/dev/null 2>&1 || true; fi
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  chmod 400 /etc/munge/munge.key
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
pgrep -x munged >/dev/null || munged --force
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd

for _ in $(seq 1 30); do
  if idle; then
    echo "slurm_up: up"; sinfo
    exit 0
  fi
  # A node left DOWN by an earlier run comes back with ReturnToService=2; nudge it anyway.
  scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true
  sleep 1
done
echo "slurm_up: the node did not become idle; see /var/log/slurm/*.log" >&2
sinfo >&2 || true
exit 1
