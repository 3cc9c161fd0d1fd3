# Interleaved: old build vs new build, N alternating launches each; wall-clock and CPU (user+sys of
# minidock and everything it reaped, from wait4's rusage: less sensitive to a loaded host).
# Usage: python3 bench/launch-old-vs-new.py N run|detached [OLD_DIR]   (as root)
#   OLD_DIR (default /tmp/old): a copy of bin/, dist/, native/Makefile and native/build/ of the old
#   build, with a node_modules link (see docs/performance.md); the new build is this checkout's.
import os, sys, time, statistics
N = int(sys.argv[1]); mode = sys.argv[2] if len(sys.argv) > 2 else 'run'
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OLD = sys.argv[3] if len(sys.argv) > 3 else '/tmp/old'
B = {'old': os.path.join(OLD, 'bin/minidock.js'), 'new': os.path.join(REPO, 'bin/minidock.js')}
ROOTFS = os.path.join(REPO, 'rootfs')
def launch(b, args):
    r, w = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 1); os.close(r)
        os.execv(B[b], [B[b]] + args)
    os.close(w)
    out = b''
    while True:
        chunk = os.read(r, 4096)
        if not chunk: break
        out += chunk
    os.close(r)
    _, status, ru = os.wait4(pid, 0)
    wall = (time.perf_counter() - t0) * 1000
    assert os.waitstatus_to_exitcode(status) == 0, (b, args, status)
    return wall, (ru.ru_utime + ru.ru_stime) * 1000, out.decode().strip()
def once(b):
    if mode == 'run':
        w, c, _ = launch(b, ['run', '--rm', ROOTFS, '/bin/true'])
        return (w, c)
    w, c, cid = launch(b, ['run', '-d', ROOTFS, '/bin/true'])
    w2, c2, _ = launch(b, ['rm', '-f', cid])
    return (w, c, w2, c2)
for b in ['old', 'new', 'old', 'new']: once(b)
res = {'old': [], 'new': []}
for i in range(N):
    for b in (['old', 'new'] if i % 2 == 0 else ['new', 'old']): res[b].append(once(b))
names = ['wall', 'cpu'] if mode == 'run' else ['run -d wall', 'run -d cpu', 'rm -f wall', 'rm -f cpu']
for b in ['old', 'new']:
    print(b, '  '.join(f'{n} {statistics.median([r[k] for r in res[b]]):.1f} ms' for k, n in enumerate(names)))
