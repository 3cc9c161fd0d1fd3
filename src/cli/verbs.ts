// Every verb of minidock, by the name it is invoked with; each lives in src/cli/<name>.ts.
// Add a new verb here: scripts/bundle.mjs reads the imports below to make one bundle per verb.
import type { Verbs } from './program.js';
import { register as runVerb } from './run.js';
import { register as psVerb } from './ps.js';
import { register as stopVerb } from './stop.js';
import { register as killVerb } from './kill.js';
import { register as rmVerb } from './rm.js';
import { register as logsVerb } from './logs.js';
import { register as execVerb } from './exec.js';
import { register as inspectVerb } from './inspect.js';
import { register as statsVerb } from './stats.js';
import { register as waitVerb } from './wait.js';
import { register as pruneVerb } from './prune.js';
import { register as gcVerb } from './gc.js';
import { register as benchVerb } from './bench.js';
import { register as doctorVerb } from './doctor.js';
import { register as importVerb } from './import.js';
import { register as imagesVerb } from './images.js';
import { register as rmiVerb } from './rmi.js';
import { register as exportVerb } from './export.js';
import { register as cgroupVerb } from './cgroup.js';
import { register as lessonVerb } from './lesson.js';
import { register as seccompVerb } from './seccomp.js';
import { register as ociVerb } from './oci.js';
import { register as portVerb } from './port.js';
import { register as networkVerb } from './network.js';
import { register as pauseVerb } from './pause.js';
import { register as unpauseVerb } from './unpause.js';
import { register as topVerb } from './top.js';
import { register as renameVerb } from './rename.js';
import { register as updateVerb } from './update.js';
import { register as diffVerb } from './diff.js';
import { register as versionVerb } from './version.js';
import { register as infoVerb } from './info.js';
import { register as createVerb } from './create.js';
import { register as startVerb } from './start.js';
import { register as restartVerb } from './restart.js';
import { register as commitVerb } from './commit.js';
import { register as cpVerb } from './cp.js';
import { register as saveVerb } from './save.js';
import { register as loadVerb } from './load.js';
import { register as tagVerb } from './tag.js';
import { register as historyVerb } from './history.js';
import { register as imageVerb } from './image.js';
import { register as systemVerb } from './system.js';
import { register as volumeVerb } from './volume.js';
import { register as eventsVerb } from './events.js';
import { register as attachVerb } from './attach.js';

/** Every verb, by the name it is invoked with (its file is src/cli/<name>.ts). */
export const VERBS: Verbs = {
  run: runVerb,
  ps: psVerb,
  stop: stopVerb,
  kill: killVerb,
  rm: rmVerb,
  logs: logsVerb,
  exec: execVerb,
  inspect: inspectVerb,
  stats: statsVerb,
  wait: waitVerb,
  prune: pruneVerb,
  gc: gcVerb,
  bench: benchVerb,
  doctor: doctorVerb,
  import: importVerb,
  images: imagesVerb,
  rmi: rmiVerb,
  export: exportVerb,
  cgroup: cgroupVerb,
  lesson: lessonVerb,
  seccomp: seccompVerb,
  oci: ociVerb,
  port: portVerb,
  network: networkVerb,
  pause: pauseVerb,
  unpause: unpauseVerb,
  top: topVerb,
  rename: renameVerb,
  update: updateVerb,
  diff: diffVerb,
  version: versionVerb,
  info: infoVerb,
  create: createVerb,
  start: startVerb,
  restart: restartVerb,
  commit: commitVerb,
  cp: cpVerb,
  save: saveVerb,
  load: loadVerb,
  tag: tagVerb,
  history: historyVerb,
  image: imageVerb,
  system: systemVerb,
  volume: volumeVerb,
  events: eventsVerb,
  attach: attachVerb,
};
