// `minidock bench peers --install`: the Debian packages of every peer (and what they need here).
export const PEER_PACKAGES = [
  'runc',
  'crun',
  'podman',
  'docker.io',
  'containerd',
  'catatonit',
  'conmon',
  'uidmap',
  'fuse-overlayfs',
  'containernetworking-plugins',
];

export function installCommand(): string[] {
  return ['apt-get', 'install', '-y', '--no-install-recommends', ...PEER_PACKAGES];
}
