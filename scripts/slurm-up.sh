#!/usr/bin/env bash
# Start a one-node Slurm cluster on this Debian or Ubuntu machine, for envcheck's cluster tests and for trying the
# docs' Slurm recipes (docs/cluster.md): installs slurm-wlm and munge when missing, writes /etc/slurm/slurm.conf
# (the node line from `slurmd -C`; no cgroups, no accounting), starts munged, slurmctld and slurmd by hand (no
# systemd needed) and waits until `srun -n 2 true` runs. Idempotent: a cluster already up is left as it is.
# scripts/slurm-down.sh stops everything this started. Needs root, or sudo without a password.
#
# ENVCHECK_SLURM_STATE: the folder for the daemons' state, logs and pid files (default /var/lib/envcheck-slurm).
set -euo pipefail

say() { echo "slurm-up: $*" >&2; }
die() {
    say "$1"
    [ -n "${2:-}" ] && echo "hint: $2" >&2
    exit 1
}

if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        exec sudo -n ENVCHECK_SLURM_STATE="${ENVCHECK_SLURM_STATE:-}" "$0" "$@"
    fi
    die "needs root to install and start Slurm (and sudo here asks for a password)" "run it as root: sudo $0"
fi

STATE=${ENVCHECK_SLURM_STATE:-/var/lib/envcheck-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by envcheck's scripts/slurm-up.sh"
TIMEOUT=30
started=$(date +%s%N)

# ------------------------------------------------------------------------------------------------ packages
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v srun >/dev/null ||
    ! command -v munged >/dev/null; then
    command -v apt-get >/dev/null ||
        die "Slurm is not installed and there is no apt-get: this script knows Debian and Ubuntu" \
            "install Slurm (slurmctld, slurmd, srun) and munge with this system's package manager, then run it again"
    say "installing slurm-wlm and munge with apt-get"
    # The packages' scripts would start their services; a policy-rc.d that refuses (only while installing, and
    # only when there is none) keeps them from starting with a configuration that is not written yet.
    policy=/usr/sbin/policy-rc.d
    own_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
    fi
    apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge >&2; }
    ok=1
    apt_install || { apt-get update -q >&2 && apt_install; } || ok=""
    [ -n "$own_policy" ] && rm -f "$policy"
    [ -n "$ok" ] || die "apt-get could not install slurm-wlm and munge (see above)" \
        "check that a Debian/Ubuntu mirror is reachable: apt-get update"
fi

# ------------------------------------------------------------------------------------------------ munge
munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
if ! munge_works; then
    if [ ! -s /etc/munge/munge.key ]; then
        say "creating the munge key"
        runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key >&2 ||
            die "could not create /etc/munge/munge.key"
    fi
    # munged refuses to run as root ("Logfile is insecure"): it runs as the munge user, with its socket folder.
    install -d -o munge -g munge -m 0755 /run/munge
    runuser -u munge -- munged >&2 || die "munged did not start" "see /var/log/munge/munged.log"
    mkdir -p "$STATE" && touch "$STATE/munged.started" # for slurm-down.sh: this munged is ours to stop
    for _ in $(seq 1 $((TIMEOUT * 10))); do
        if munge_works; then break; fi
        sleep 0.1
    done
    munge_works || die "munged started, but munge -n | unmunge fails" "see /var/log/munge/munged.log"
fi

# ------------------------------------------------------------------------------------------------ slurm.conf
host=$(hostname -s)
if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    die "$CONF exists and was not written by this script; it is left alone" \
        "this script is for a machine without Slurm; move the file away to let it write its own"
fi
node=$(slurmd -C | head -n 1)
case "$node" in NodeName=*) ;; *) die "slurmd -C did not describe this node: $node" ;; esac
mkdir -p /etc/slurm "$STATE/ctld" "$STATE/d"
conf=$(
    cat <<CONF
$MARK: a one-node cluster for tests;
# scripts/slurm-down.sh stops it. The daemons' state, logs and pid files are in $STATE.
ClusterName=envcheck
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
# No cgroups: processes are tracked through /proc, tasks are not bound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
# Each job step gets ports of its own in SLURM_STEP_RESV_PORTS (srun --resv-ports).
MpiParams=ports=20000-20999
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
KillWait=10
$node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
)
if [ "$(cat "$CONF" 2>/dev/null)" != "$conf" ]; then
    printf '%s\n' "$conf" >"$CONF"
    changed=1
else
    changed=""
fi

# ------------------------------------------------------------------------------------------------ daemons
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if [ -n "$changed" ] && { running "$STATE/slurmctld.pid" || running "$STATE/slurmd.pid"; }; then
    say "slurm.conf changed: restarting the daemons"
    scontrol reconfigure >&2 || true
fi
running "$STATE/slurmctld.pid" || slurmctld >&2 || die "slurmctld did not start" "see $STATE/slurmctld.log"
running "$STATE/slurmd.pid" || slurmd >&2 || die "slurmd did not start" "see $STATE/slurmd.log"

# The node is up when slurmctld has heard from slurmd; a drained or down node is resumed once.
for _ in $(seq 1 $((TIMEOUT * 5))); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
    case "$state" in
    idle* | mixed* | allocated*) break ;;
    drain* | down*) scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.2
done
case "$state" in idle* | mixed* | allocated*) ;; *)
    reason=$(sinfo -h -R -n "$host" -o %E 2>/dev/null || true)
    die "node $host is ${state:-unknown} after ${TIMEOUT} s${reason:+: $reason}" \
        "see $STATE/slurmctld.log and $STATE/slurmd.log"
    ;;
esac
timeout "$TIMEOUT" srun -n 1 true || die "srun -n 1 true failed on the new cluster" "see $STATE/slurmd.log"

ms=$((($(date +%s%N) - started) / 1000000))
cpus=$(sinfo -h -n "$host" -o %c)
say "a one-node Slurm cluster is up: node $host, $cpus CPUs, partition debug ($((ms / 1000)).$(printf %03d $((ms % 1000))) s)"
