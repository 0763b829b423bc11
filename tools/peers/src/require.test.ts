import { describe, expect, it } from 'vitest';

import { PeerError } from './errors.js';
import { installedVersion, missingPackages } from './packages.js';
import { decidePeers, isCi } from './require.js';

describe('requirePeers decisions', () => {
  it('runs when nothing is missing, in and out of CI', () => {
    expect(decidePeers('s', [], false)).toEqual({ missing: [], skip: false, reason: '' });
    expect(decidePeers('s', [], true).skip).toBe(false);
  });

  it('skips outside CI, naming the package and the install command', () => {
    const d = decidePeers('ajp interop', ['tomcat10'], false);
    expect(d.skip).toBe(true);
    expect(d.reason).toContain('tomcat10');
    expect(d.reason).toContain('sudo bash tools/peers/install.sh');
  });

  it('fails under CI with a MISSING_PACKAGE error naming the package', () => {
    let err: unknown;
    try {
      decidePeers('ajp interop', ['apache2', 'libapache2-mod-jk'], true);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PeerError);
    expect(err).toMatchObject({ code: 'MISSING_PACKAGE' });
    expect(String((err as Error).message)).toMatch(/apache2, libapache2-mod-jk.*CI=true/);
  });

  it('reads CI the way CI systems set it', () => {
    expect(isCi({ CI: 'true' })).toBe(true);
    expect(isCi({ CI: '1' })).toBe(true);
    expect(isCi({ CI: 'false' })).toBe(false);
    expect(isCi({})).toBe(false);
  });

  it('asks dpkg: a package that does not exist is missing', () => {
    expect(installedVersion('cohort-no-such-package')).toBeUndefined();
    expect(missingPackages(['cohort-no-such-package'])).toEqual(['cohort-no-such-package']);
    // dpkg itself is always installed on Debian, so the query path that finds a version works.
    expect(installedVersion('dpkg')).toMatch(/^\d/);
  });
});
