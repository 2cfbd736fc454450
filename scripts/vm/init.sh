#!/bin/sh
# /init of the VM lane's initramfs (busybox sh). Built into the image by scripts/vm/lib.mjs and
# booted by scripts/vm/run.mjs; see scripts/vm/README.md.
#
# Loads the preresolved modules, mounts the host's root read-only over 9p, gives it private
# writable tmpfs where programs write (so nothing reaches the host and network-namespace names
# stay private to the VM), moves it to / and runs the job in it. The job's exit code goes to the
# job share (file rc) and to the console as a marker line with the run's nonce, then the VM
# powers off. Nothing here may exit: PID 1 exiting panics the kernel (panic=-1 then reboots, and
# qemu -no-reboot quits), which run.mjs reports as a VM failure.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
hostname pf-vm

NONCE=none
for a in $(cat /proc/cmdline); do
  case "$a" in
    pf.nonce=*) NONCE="${a#pf.nonce=}" ;;
  esac
done

mark() { echo "PF-VM:$NONCE:$*"; }
die() {
  echo "pf-vm init: $*"
  mark "exit 125"
  poweroff -f
  sleep 5
}

KVER=$(uname -r)
mark stage modules "$(cut -d' ' -f1 /proc/uptime)"
# Tunnel drivers (ip_gre, ipip, sit, ...) add fallback devices (gre0, gretap0, ...) to every
# network namespace; 2 = to none, so a namespace holds only what a test made.
echo 2 >/proc/sys/net/core/fb_tunnels_only_for_init_net
# Modules in dependency order: a path relative to /lib/modules/$KVER, then parameters, a line.
while read -r m params; do
  [ -n "$m" ] || continue
  # shellcheck disable=SC2086 # parameters are separate words
  insmod "/lib/modules/$KVER/$m" $params 2>/tmp/insmod.err || {
    grep -q 'File exists' /tmp/insmod.err || echo "pf-vm init: insmod $m: $(cat /tmp/insmod.err)"
  }
done </etc/pf-modules

mark stage mount "$(cut -d' ' -f1 /proc/uptime)"
mkdir -p /job /mnt/root
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 pfjob /job || die "cannot mount the job share"
[ -f /job/conf ] || die "no /job/conf"
# conf sets PF_9P_CACHE, PF_MODDIR, PF_TTY, PF_TMP_SIZE, PF_OVERLAY, PF_REPO_MOUNT (run.mjs).
. /job/conf

mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000,cache=$PF_9P_CACHE,ro" hostroot /mnt/root ||
  die "cannot mount the host root over 9p"
R=/mnt/root

# Writable and private: scratch space, runtime state (/run holds /run/netns), logs.
mount -t tmpfs -o "mode=1777,size=$PF_TMP_SIZE" tmpfs "$R/tmp" || die "tmpfs /tmp"
mount -t tmpfs -o mode=755 tmpfs "$R/run" || die "tmpfs /run"
for d in var/tmp var/log; do
  [ -d "$R/$d" ] && [ ! -L "$R/$d" ] && mount -t tmpfs -o mode=1777 tmpfs "$R/$d"
done
# An empty home: the host's dotfiles stay out. They also cost: bash sources ~/.bashrc when its
# stdin is a socket (as under node's spawn), and a pyenv or nvm setup there runs dozens of
# processes for every zx $`...` call, seconds each under TCG.
mount -t tmpfs -o mode=700 tmpfs "$R/root"
# /var/run and /var/lock are symlinks into /run on Debian; if not, give them their own tmpfs.
for d in var/run var/lock; do
  [ -d "$R/$d" ] && [ ! -L "$R/$d" ] && mount -t tmpfs -o mode=755 tmpfs "$R/$d"
done

# Writable views that keep the host's content (daemons keep state and config here: Open vSwitch
# in /etc/openvswitch and /var/lib/openvswitch, dockerd in /var/lib/docker and /etc/docker):
# an overlay whose upper layer is in RAM. Without overlayfs fall back to an empty tmpfs for
# /var/lib and leave /etc read-only.
mkdir -p /ovl
mount -t tmpfs -o mode=755 tmpfs /ovl
for d in $PF_OVERLAY; do
  [ -d "$R/$d" ] && [ ! -L "$R/$d" ] || continue
  u=/ovl/$(echo "$d" | tr / _)
  mkdir -p "$u/upper" "$u/work"
  if ! mount -t overlay -o "lowerdir=$R/$d,upperdir=$u/upper,workdir=$u/work" overlay "$R/$d" 2>/dev/null; then
    echo "pf-vm init: overlay on /$d failed"
    [ "$d" = etc ] || mount -t tmpfs -o mode=755 tmpfs "$R/$d"
  fi
done

mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup" 2>/dev/null
mount -t bpf bpf "$R/sys/fs/bpf" 2>/dev/null
mount -t devtmpfs devtmpfs "$R/dev"
mkdir -p "$R/dev/pts" "$R/dev/shm" "$R/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$R/dev/pts"
ln -sf pts/ptmx "$R/dev/ptmx" 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"
mount -t mqueue mqueue "$R/dev/mqueue" 2>/dev/null
ln -sf /proc/self/fd "$R/dev/fd" 2>/dev/null

# The repository, when it lives under one of the directories above (run.mjs shares it apart).
if [ -n "$PF_REPO_MOUNT" ]; then
  mkdir -p "$R$PF_REPO_MOUNT"
  mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000,cache=$PF_9P_CACHE,ro" pfrepo "$R$PF_REPO_MOUNT" ||
    die "cannot mount the repository share"
fi

# This kernel's modules, for modprobe and autoload inside: the host's /lib/modules has none for it.
if [ -n "$PF_MODDIR" ] && [ -d "$R$PF_MODDIR" ]; then
  if [ -d "$R/lib/modules" ]; then
    mount -t tmpfs -o mode=755 tmpfs "$R/lib/modules"
  else
    # No /lib/modules on the host (a container image, say): make its parent writable in RAM.
    lib=lib
    [ -L "$R/lib" ] && lib=$(readlink "$R/lib" | sed 's|^/||')
    mkdir -p /ovl/lib/upper /ovl/lib/work
    mount -t overlay -o "lowerdir=$R/$lib,upperdir=/ovl/lib/upper,workdir=/ovl/lib/work" overlay "$R/$lib"
  fi
  mkdir -p "$R/lib/modules/$KVER"
  mount --bind "$R$PF_MODDIR" "$R/lib/modules/$KVER"
  # The kernel's modprobe helper runs from this (the initramfs) root: give it the full tree too.
  mount --bind "$R$PF_MODDIR" "/lib/modules/$KVER"
fi

mkdir -p "$R/run/pf-vm"
mount --bind /job "$R/run/pf-vm"

# The job's view of the host root becomes / (as switch_root does), so pivot_root and
# unshare --mount behave as on a normal system; this process keeps the initramfs as its root.
cd "$R" || die "cd $R"
mount --move . / || die "cannot move the root"
# ip netns add, unshare and container runtimes expect shared propagation, as systemd sets it.
mount --make-rshared .

mark start "$(cut -d' ' -f1 /proc/uptime)"
set -o pipefail
if [ "$PF_TTY" = 1 ]; then
  env -i chroot . /bin/sh /run/pf-vm/job.sh </dev/null
else
  # Not a terminal on the host: make it none in here either (node picks its reporter by it).
  env -i chroot . /bin/sh /run/pf-vm/job.sh </dev/null 2>&1 | cat
fi
rc=$?
echo "$rc" >/job/rc
sync
mark "exit $rc" "$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
sleep 5
