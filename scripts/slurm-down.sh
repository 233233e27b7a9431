#!/usr/bin/env bash
# Stop the one-node Slurm cluster that scripts/slurm-up.sh started: cancel every job, stop slurmd, slurmctld and
# the munged it started, and check that none of them (and no job step) is left running. Idempotent: with
# nothing running it says so and exits 0. Packages, slurm.conf and the state folder stay, so that the next
# slurm-up.sh takes a second. Needs root, or sudo without a password.
#
# ENVCHECK_SLURM_STATE: the same folder as for slurm-up.sh (default /var/lib/envcheck-slurm).
set -euo pipefail

say() { echo "slurm-down: $*" >&2; }
die() {
    say "$1"
    [ -n "${2:-}" ] && echo "hint: $2" >&2
    exit 1
}

if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        exec sudo -n ENVCHECK_SLURM_STATE="${ENVCHECK_SLURM_STATE:-}" "$0" "$@"
    fi
    die "needs root to stop Slurm's daemons (and sudo here asks for a password)" "run it as root: sudo $0"
fi

STATE=${ENVCHECK_SLURM_STATE:-/var/lib/envcheck-slurm}
TIMEOUT=30

pid_of() { [ -s "$1" ] && cat "$1"; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# Stops the process whose pid file is $1 (and which is the program $2): SIGTERM, then SIGKILL after TIMEOUT s.
stop() {
    local pid
    pid=$(pid_of "$1") || return 0
    alive "$pid" || return 0
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 0 # a stale file: the pid is someone else's now
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((TIMEOUT * 10))); do alive "$pid" || return 0; sleep 0.1; done
    say "$2 ($pid) did not stop within ${TIMEOUT} s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

ctld=$(pid_of "$STATE/slurmctld.pid" || true)
if alive "$ctld"; then
    jobs=$(squeue -h -o %i 2>/dev/null || true)
    if [ -n "$jobs" ]; then
        say "cancelling jobs: $(echo "$jobs" | tr '\n' ' ')"
        # shellcheck disable=SC2086 # one argument per job id
        scancel --quiet $jobs 2>/dev/null || true
        for _ in $(seq 1 $((TIMEOUT * 5))); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
    fi
fi
stop "$STATE/slurmd.pid" slurmd
stop "$STATE/slurmctld.pid" slurmctld
# munged only when slurm-up.sh started it (a munged that was running before belongs to this machine).
ours='slurmctld|slurmd|slurmstepd'
if [ -e "$STATE/munged.started" ]; then
    stop /run/munge/munged.pid munged
    rm -f "$STATE/munged.started"
    ours="$ours|munged"
fi

# Nothing of the cluster may be left: the daemons, and no job step's slurmstepd (zombies do not count).
running() { ps -eo pid=,stat=,comm= | awk -v ours="^($ours)$" '$3 ~ ours && $2 !~ /^Z/ {print $1 " " $3}'; }
for _ in $(seq 1 $((TIMEOUT * 5))); do
    left=$(running)
    [ -z "$left" ] && break
    sleep 0.2
done
[ -z "$left" ] || die "still running after ${TIMEOUT} s: $(echo "$left" | tr '\n' ' ')" "stop them by pid (kill PID)"
say "the Slurm cluster is stopped; nothing of it is running"
