import { hasScope, HubScopes, isValidScope, parseScope, readScope, scopeCovers, splitScopes, writeScope } from './scopes.js';

describe('SMART system scopes', () => {
  it('Parses a scope into resource type and action', () => {
    expect(parseScope('system/Patient.read')).toEqual({ context: 'system', resourceType: 'Patient', action: 'read' });
    expect(parseScope('system/*.*')).toEqual({ context: 'system', resourceType: '*', action: '*' });
    expect(parseScope(HubScopes.contractSign)).toEqual({ context: 'system', resourceType: 'Contract', action: 'sign' });
    expect(parseScope('patient/CarePlan.write')).toEqual({ context: 'patient', resourceType: 'CarePlan', action: 'write' });
  });

  it('Treats user/, malformed and empty scopes as invalid', () => {
    for (const bad of ['user/*.read', 'patient/patient.read', 'system/patient.read', 'system/Patient', 'system/Patient.', 'Patient.read', '', 'system/Patient.read extra']) {
      expect(isValidScope(bad)).toBe(false);
    }
  });

  it('Grants exactly the named type and action', () => {
    expect(hasScope(['system/Patient.read'], 'system/Patient.read')).toBe(true);
    expect(hasScope(['system/Patient.read'], 'system/Patient.write')).toBe(false);
    expect(hasScope(['system/Patient.read'], 'system/Flag.read')).toBe(false);
  });

  it('Lets a type wildcard cover every resource type', () => {
    expect(hasScope(['system/*.read'], 'system/Patient.read')).toBe(true);
    expect(hasScope(['system/*.read'], 'system/CareTeam.read')).toBe(true);
    expect(hasScope(['system/*.read'], 'system/CareTeam.write')).toBe(false);
  });

  it('Lets an action wildcard cover read and write', () => {
    expect(hasScope(['system/Patient.*'], 'system/Patient.read')).toBe(true);
    expect(hasScope(['system/Patient.*'], 'system/Patient.write')).toBe(true);
    expect(hasScope(['system/*.*'], 'system/Observation.write')).toBe(true);
  });

  it('Never lets a wildcard action imply an operation scope such as signing the ISP', () => {
    expect(hasScope(['system/*.*'], HubScopes.contractSign)).toBe(false);
    expect(hasScope(['system/Task.*'], HubScopes.taskReview)).toBe(false);
    expect(hasScope([HubScopes.taskReview], HubScopes.taskReview)).toBe(true);
    expect(hasScope([HubScopes.taskReview], 'system/Task.write')).toBe(false);
  });

  it('Requires a type wildcard in the grant when the requirement spans every type', () => {
    expect(hasScope(['system/Patient.read'], 'system/*.read')).toBe(false);
    expect(hasScope(['system/*.read'], 'system/*.read')).toBe(true);
    expect(hasScope(['system/*.*'], 'system/*.write')).toBe(true);
  });

  it("Never lets a patient scope cover a system scope, or a system scope a patient scope", () => {
    expect(hasScope(['patient/*.read'], 'system/CarePlan.read')).toBe(false);
    expect(hasScope(['system/*.*'], 'patient/CarePlan.read')).toBe(false);
    expect(hasScope(['patient/*.read'], 'patient/CarePlan.read')).toBe(true);
    expect(hasScope(['patient/*.read'], 'patient/CarePlan.write')).toBe(false);
  });

  it('Accepts the space-separated scope claim of a token', () => {
    expect(hasScope('system/Patient.read  system/Flag.write', 'system/Flag.write')).toBe(true);
    expect(hasScope('', 'system/Flag.write')).toBe(false);
  });

  it('Grants nothing for invalid granted or required scopes', () => {
    expect(scopeCovers('system/*.*', 'system/patient.read')).toBe(false);
    expect(scopeCovers('*', 'system/Patient.read')).toBe(false);
    expect(hasScope(['user/*.*'], 'system/Patient.read')).toBe(false);
  });

  it('Splits a scope parameter into distinct scopes in order', () => {
    expect(splitScopes(' system/Patient.read\tsystem/Flag.read system/Patient.read ')).toEqual(['system/Patient.read', 'system/Flag.read']);
    expect(splitScopes(undefined)).toEqual([]);
  });

  it('Builds read and write scopes for a resource type', () => {
    expect(readScope('CareTeam')).toBe('system/CareTeam.read');
    expect(writeScope('CareTeam')).toBe('system/CareTeam.write');
  });
});
