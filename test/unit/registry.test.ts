import { describe, expect, it } from 'vitest';
import { allowlistFrom, pullAllowed, registryAllowed } from '../../workers/contract/index.ts';

describe('registry allowlist: any local image, and registries the admin allows', () => {
  it('with no setting anywhere: local (hostless) images may be proposed, nothing may be pulled, hosts are refused', () => {
    const list = allowlistFrom({});
    expect(registryAllowed('web:1', list)).toBe(true);
    expect(registryAllowed('team/web:1', list)).toBe(true);
    expect(pullAllowed('web:1', list)).toBe(false);
    expect(registryAllowed('registry.example.com/acme/api:2', list)).toBe(false);
    expect(pullAllowed('registry.example.com/acme/api:2', list)).toBe(false);
  });
  it('the installation list (HOIST_ALLOWED_REGISTRIES) and the tenant setting add up', () => {
    const list = allowlistFrom({ registries: ['registry.internal:5000'] }, ['registry.example.com', 'default']);
    expect(registryAllowed('registry.example.com/acme/api:2', list)).toBe(true);
    expect(pullAllowed('registry.internal:5000/x:1', list)).toBe(true);
    expect(pullAllowed('web:1', list)).toBe(true);
    expect(registryAllowed('images.example.net/x/y:1', list)).toBe(false);
    expect(registryAllowed('images.example.net/x/y:1', allowlistFrom({ registries: ['*'] }))).toBe(true);
  });
});
