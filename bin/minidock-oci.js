#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node --min-semi-space-size=2 --
// minidock as an OCI runtime: the binary engines are pointed at (containerd's runc shim
// `BinaryName`, `podman --runtime`, `dockerd --add-runtime`). It is `minidock oci ARGS...`: runc's
// command line, global flags (--root, --log, --log-format, --debug, --systemd-cgroup) before the verb
// (src/cli/oci-main.ts; docs/oci.md). The verb goes in front of the arguments and bin/minidock.js
// does the rest: it loads the `oci` verb's own bundle (dist/verbs/oci.cjs) with V8's code cache.
// (The shebang's options are bin/minidock.js's: see there.)
'use strict';
process.argv.splice(2, 0, 'oci');
require('./minidock.js');
