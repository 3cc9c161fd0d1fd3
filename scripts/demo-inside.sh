# Runs INSIDE the demo container (busybox sh): shows what the kernel isolates.
echo "== minidock demo: what a container is =="
echo
echo "PID namespace   my pid is $$ (PID 1: the container's init). All processes I can see:"
ps -o pid,user,comm 2>/dev/null || ps
echo
echo "UTS namespace   hostname: $(hostname)   (the host's name is invisible here)"
echo
echo "net namespace   interfaces:"
ip -o link | sed 's/^/                /' | cut -c1-70
echo
echo "mount namespace my own mount table (root is an overlay over ./rootfs; the host's mounts are gone):"
sed 's/^/                /' /proc/self/mounts | cut -c1-110
echo
echo "cgroup          $(grep -m1 memory /proc/self/cgroup)  (a cgroup namespace: my own cgroup looks like /)"
echo "privileges      $(grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\t\n' ' ')"
echo
echo "Try it yourself (as root, or sudo minidock where sudo exists):  minidock run --rm -it ./rootfs /bin/sh"
