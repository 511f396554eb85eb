/** The FHIR resource types the MPI keeps in the shared resource store, with their search parameters. */
import { reviewPair } from './domain/review-task.js';
import { codingsOf, codesOf, defineResourceType, referenceParam, referencesOf, tokenParam } from '../../shared/store/search-params.js';

export const MPI_RESOURCE_TYPES = [
  defineResourceType('Task', [
    tokenParam('code', (t) => codingsOf(t.code)),
    tokenParam('status', (t) => codesOf(t.status)),
    referenceParam('focus', ['Patient'], (t) => referencesOf(t.focus)),
    referenceParam('owner', ['PractitionerRole'], (t) => referencesOf(t.owner)),
    // The other record a match review asks about (its focus is the record that raised it).
    referenceParam('candidate', ['Patient'], (t) => {
      const candidateId = reviewPair(t)?.candidateId;
      return candidateId ? [`Patient/${candidateId}`] : [];
    }),
  ]),
];
