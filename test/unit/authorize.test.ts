import { describe, expect, it } from 'vitest';
import { authorize, authorizeApproval } from '../../bot/pipeline/authorize.ts';

describe('authorize', () => {
  it('lets viewers read and refuses them changes with the role to ask for', () => {
    expect(() => authorize('viewer', { action: 'status' })).not.toThrow();
    expect(() => authorize('viewer', { action: 'deploy', app: 'web' })).toThrow(/deployer role/);
    expect(() => authorize(undefined, { action: 'status' })).toThrow(/viewer role/);
    expect(() => authorize(undefined, { action: 'privacy', request: 'forget_me' })).not.toThrow();
    expect(() => authorize(undefined, { action: 'help' })).not.toThrow();
  });
  it('keeps roles and export for admins', () => {
    expect(() => authorize('approver', { action: 'grant', user: 'x', role: 'admin' })).toThrow(/admin/);
    expect(() => authorize('deployer', { action: 'privacy', request: 'export' })).toThrow(/admin/);
    expect(() => authorize('admin', { action: 'grant', user: 'x', role: 'admin' })).not.toThrow();
  });
  it('enforces four-eyes in production', () => {
    expect(() => authorizeApproval({ role: 'admin', userId: 'a', requestedBy: 'a', production: true })).toThrow(/other than the requester/);
    expect(() => authorizeApproval({ role: 'approver', userId: 'b', requestedBy: 'a', production: true })).not.toThrow();
    expect(() => authorizeApproval({ role: 'deployer', userId: 'a', requestedBy: 'a', production: false })).not.toThrow();
    expect(() => authorizeApproval({ role: 'deployer', userId: 'b', requestedBy: 'a', production: false })).toThrow(/approver role/);
    expect(() => authorizeApproval({ role: 'viewer', userId: 'a', requestedBy: 'a', production: false })).toThrow();
  });
});
